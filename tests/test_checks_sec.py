"""Suite SEC and the TLS negatives (TC-TRN-05/06, TC-SEC-01/04) on crafted captures: the faults the lab variants do
not show, and each verdict path of the checks. The lab proves end to end: calls taken from any source
(faulty-any-source), TLS 1.0 accepted (faulty-tls-old), a client without a certificate let in
(faulty-tls-no-client-cert); here a client certificate from an unknown CA accepted, a call from an untrusted source
relayed or answered with another code than 403, silence as a refusal, a missing control or probe record (ERROR)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, DUT_FAR, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.common import StimulusMissing  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-SEC-01-tcp-abc"
NUM = "+15550002000"


def _trace(c: Capture, tmp_path: Path):
    path = tmp_path / "capture.pcapng"
    c.write(path)
    return read_trace(path)


# ---- TC-SEC-01: an INVITE from an address outside the Mediation pool -----------------------------------------------
# the fixtures' Mediation-side address plays the untrusted source: the check is told which address sent it


def _untrusted(tmp_path, answer: int | None, relayed: bool):
    c = Capture()
    via, frm, to, cid = (f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-u1", f"From: <sip:+14255550100@{MS}>;tag=u1",
                         f"To: <sip:{NUM}@sbc.lab.example>", "Call-ID: untrusted-1@x")
    c.udp(MS, DUT, sip(f"INVITE sip:{NUM}@sbc.lab.example SIP/2.0", via, "Max-Forwards: 70", frm, to, cid,
                       "CSeq: 1 INVITE", f"Contact: <sip:+14255550100@{MS}:5060>", f"{checks.MARKER}: {TEST_ID}",
                       "Content-Type: application/sdp", body=sdp(1, MS)))
    if relayed:   # a B2BUA's far leg: its own Call-ID, no marker
        c.udp(DUT_FAR, FAR, sip(f"INVITE sip:{NUM}@{FAR} SIP/2.0", f"Via: SIP/2.0/UDP {DUT_FAR}:5060;branch=z9hG4bK-f",
                                "Max-Forwards: 69", f"From: <sip:+14255550100@{DUT_FAR}>;tag=b1",
                                f"To: <sip:{NUM}@{FAR}>", "Call-ID: far-1@y", "CSeq: 1 INVITE",
                                f"Contact: <sip:b2bua@{DUT_FAR}:5060>", "Content-Type: application/sdp",
                                body=sdp(1, DUT_FAR)))
    if answer is not None:
        c.udp(DUT, MS, sip(f"SIP/2.0 {answer} {'Forbidden' if answer == 403 else 'Temporarily Unavailable'}", via,
                           frm, f"{to};tag=d1", cid, "CSeq: 1 INVITE"))
    return checks.untrusted_source_refused(_trace(c, tmp_path), test_id=TEST_ID, source_ip=MS, dut_ip=DUT,
                                           dut_far_ip=DUT_FAR)


@pytest.mark.parametrize("answer", [403, None])
def test_sec01_403_or_silence_passes(tmp_path, answer):
    found = _untrusted(tmp_path, answer, relayed=False)
    assert [f.ok for f in found] == [True] and ("403" in found[0].message if answer else "ignored" in found[0].message)


def test_sec01_a_call_relayed_from_an_untrusted_source_fails(tmp_path):
    found = _untrusted(tmp_path, 480, relayed=True)
    assert [f.ok for f in found] == [False, False]
    assert found[0].message.startswith("SEC-01: expected no call toward the far side") and FAR in found[0].message
    assert "observed 480" in found[1].message


def test_sec01_a_refusal_other_than_403_fails(tmp_path):
    found = _untrusted(tmp_path, 480, relayed=False)
    assert [f.ok for f in found] == [False] and found[0].message.startswith("SEC-01: expected 403 or no answer")


def test_sec01_without_our_invite_is_an_error(tmp_path):
    c = Capture()
    c.udp(DUT, MS, sip("SIP/2.0 403 Forbidden", "Via: SIP/2.0/UDP x;branch=z9hG4bK-1", "From: <sip:a@x>;tag=1",
                       "To: <sip:b@y>;tag=2", "Call-ID: other@x", "CSeq: 1 INVITE"))
    with pytest.raises(StimulusMissing):
        checks.untrusted_source_refused(_trace(c, tmp_path), test_id=TEST_ID, source_ip=MS, dut_ip=DUT,
                                        dut_far_ip=DUT_FAR)


# ---- TC-TRN-05: client certificates the DUT must refuse (its TLS connections read as SIP here) -----------------------
TRN05 = "TC-TRN-05-tls-abc"


def _probe_run(tmp_path, answered: set[str], names=("control", "rogue-ca", "expired", "no-cert", "wrong-san")):
    """One OPTIONS per probe attempt (TCP stands for the decrypted TLS), answered 200 for ``answered``; the probe's
    record beside the capture ties each attempt to a local address."""
    c = Capture()
    for i, name in enumerate(names):
        via, frm, to, cid = (f"Via: SIP/2.0/TLS {MS}:5060;branch=z9hG4bK-p{i}", f"From: <sip:tlsprobe@{MS}>;tag=p{i}",
                             "To: <sip:sbc.lab.example>", f"Call-ID: probe-{i}@x")
        c.tcp(MS, DUT, sip("OPTIONS sip:sbc.lab.example:5067;transport=tls SIP/2.0", via, "Max-Forwards: 70", frm, to,
                           cid, "CSeq: 1 OPTIONS", f"{checks.MARKER}: {TRN05}-{name}"))
        if name in answered:
            c.tcp(DUT, MS, sip("SIP/2.0 200 OK", via, frm, f"{to};tag=d{i}", cid, "CSeq: 1 OPTIONS"))
    (tmp_path / "tlsprobe.json").write_text(json.dumps([{"name": n, "local": f"{MS}:{40000 + i}", "handshake": "ok"}
                                                        for i, n in enumerate(names)]))
    return checks.client_certificates_refused(_trace(c, tmp_path), test_id=TRN05, our_ip=MS, dut_ip=DUT,
                                              tls_ports=[5067])


def test_trn05_refusing_bad_certificates_passes_and_records_the_wrong_name(tmp_path):
    found = _probe_run(tmp_path, {"control", "wrong-san"})
    assert all(f.ok for f in found) and len(found) == 4
    assert [f.severity for f in found] == ["R", "R", "R", "I"] and "does not check" in found[-1].message


def test_trn05_a_client_certificate_from_an_unknown_ca_accepted_fails(tmp_path):
    found = _probe_run(tmp_path, {"control", "rogue-ca"})
    bad = [f for f in found if not f.ok]
    assert len(bad) == 1 and "200 OK" in bad[0].message
    assert bad[0].message.startswith("TLS-02: expected the DUT to refuse a client certificate issued by an unknown CA")


def test_trn05_an_expired_client_certificate_accepted_fails(tmp_path):
    found = _probe_run(tmp_path, {"control", "expired", "no-cert"})
    assert [f.message.split(",")[0] for f in found if not f.ok] == [
        "TLS-02: expected the DUT to refuse a client certificate that has expired (no SIP on that connection",
        "TLS-02: expected the DUT to refuse a client certificate that is missing (the client presents none) (no SIP "
        "on that connection"]


def test_trn05_without_the_control_answered_nothing_is_concluded(tmp_path):
    with pytest.raises(StimulusMissing):
        _probe_run(tmp_path, set())


def test_trn05_without_an_attempt_in_the_record_is_an_error(tmp_path):
    with pytest.raises(StimulusMissing):
        _probe_run(tmp_path, {"control"}, names=("control", "rogue-ca"))


# ---- TC-SEC-03: topology hiding (an OUT and an IN call through a B2BUA; the capture names where a leak is) ---------
SEC03 = "TC-SEC-03-tcp-abc"
IN_NUM = "+14255550123"
OUT_SPEC = checks.CallSpec(SEC03, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT_FAR, called=NUM)
IN_SPEC = checks.CallSpec(SEC03, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT_FAR, dut_out_ip=DUT, called=IN_NUM)
MS_SIDE, FAR_SIDE = [MS, DUT, "mspool.lab.example", "ms1.lab.example"], [FAR, DUT_FAR]


def _invite(c, src, dst, num, cid, from_host, contact_host, o_addr, c_addr, marker=False):
    via = f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{cid}"
    frm, to = f"From: <sip:+100@{from_host};user=phone>;tag=f{cid}", f"To: <sip:{num}@gw.example>"
    body = sdp(1, o_addr, conn=c_addr)
    c.udp(src, dst, sip(f"INVITE sip:{num}@gw.example SIP/2.0", via, "Max-Forwards: 70", frm, to,
                        f"Call-ID: {cid}@{from_host}", "CSeq: 1 INVITE", f"Contact: <sip:x@{contact_host}:5060>",
                        *([f"{checks.MARKER}: {SEC03}"] if marker else []), "Content-Type: application/sdp",
                        body=body))
    c.udp(dst, src, sip("SIP/2.0 200 OK", via, frm, f"{to};tag=t{cid}", f"Call-ID: {cid}@{from_host}",
                        "CSeq: 1 INVITE", f"Contact: <sip:y@{dst}:5060>", "Content-Type: application/sdp",
                        body=sdp(1, dst)))


def _two_calls(tmp_path, leak: str | None = None):
    """A B2BUA that hides both sides, or leaks the caller's address in the far leg's From host (``from``), its SDP
    o= line (``o``), or the pool's name in the Contact toward the far side (``contact``)."""
    c = Capture()
    _invite(c, MS, DUT, NUM, "a1", MS, MS, MS, MS, marker=True)                         # OUT: Mediation -> DUT
    _invite(c, DUT_FAR, FAR, NUM, "b1", MS if leak == "from" else DUT_FAR,
            "ms1.lab.example" if leak == "contact" else DUT_FAR, MS if leak == "o" else DUT_FAR, DUT_FAR)
    _invite(c, FAR, DUT_FAR, IN_NUM, "c1", FAR, FAR, FAR, FAR, marker=True)            # IN: far -> DUT
    _invite(c, DUT, MS, IN_NUM, "d1", "sbc.lab.example", DUT, DUT, DUT)
    return checks.topology_hidden(_trace(c, tmp_path), out_spec=OUT_SPEC, in_spec=IN_SPEC, ms_side=MS_SIDE,
                                  far_side=FAR_SIDE)


def test_sec03_a_device_hiding_both_sides_passes(tmp_path):
    found = _two_calls(tmp_path)
    assert [f.ok for f in found] == [True, True] and all(f.severity == "M" for f in found)


@pytest.mark.parametrize("leak, place", [("from", f"{MS} in From"), ("o", f"{MS} in SDP o="),
                                         ("contact", "ms1.lab.example in Contact")])
def test_sec03_leaking_the_caller_in_from_o_or_contact_fails(tmp_path, leak, place):
    found = _two_calls(tmp_path, leak)
    bad = [f for f in found if not f.ok]
    assert len(bad) == 1 and bad[0].message.startswith("SEC-03: expected no address or name of the Mediation side")
    assert place in bad[0].message and bad[0].frames, bad[0].message
    assert [f.ok for f in found if "far side (" in f.message] == [True]     # the other direction still judged


def test_sec03_addresses_match_whole():
    from sipqual.checks.sec import _pattern

    assert not _pattern("192.0.2.1").search("Via: SIP/2.0/UDP 192.0.2.10:5060")
    assert _pattern("192.0.2.1").search("<sip:x@192.0.2.1:5060>") and _pattern("192.0.2.1").search("IN IP4 192.0.2.1")
    assert not _pattern("ms1.lab.example").search("sip:xms1.lab.example") and \
        _pattern("MS1.lab.example").search("sip:a@ms1.lab.example;transport=tls")


# ---- TC-SEC-02: no cleartext SIP on a TLS trunk (the crafted legs are cleartext: a TLS leg is tests/tlswire.py's) --
def test_sec02_sip_in_clear_to_the_mediation_side_fails(tmp_path):
    c = Capture()
    _invite(c, MS, DUT, NUM, "a1", MS, MS, MS, MS, marker=True)
    _invite(c, DUT_FAR, FAR, NUM, "b1", DUT_FAR, DUT_FAR, DUT_FAR, DUT_FAR)
    _invite(c, FAR, DUT_FAR, IN_NUM, "c1", FAR, FAR, FAR, FAR, marker=True)
    _invite(c, DUT, MS, IN_NUM, "d1", "sbc.lab.example", DUT, DUT, DUT)
    found = checks.no_cleartext_sip(_trace(c, tmp_path), in_spec=IN_SPEC, out_spec=OUT_SPEC)
    assert [f.ok for f in found] == [False]
    assert found[0].message.startswith("SEC-02: expected every SIP message from the DUT to the Mediation side over "
                                       "TLS") and "INVITE over UDP" in found[0].message and found[0].frames


def test_sec02_sip_over_tls_passes(tmp_path):
    """The Mediation leg in TLS records (make_fixtures.TlsLeg, decrypted with its key log): both calls pass."""
    from make_fixtures import CLIENT_RANDOM, MASTER, TLS_PORT, TlsLeg

    c = Capture()
    tls = TlsLeg(c, MS, DUT)
    for src, dst, num, cid, marker in ((MS, DUT, NUM, "a1", True), (DUT, MS, IN_NUM, "d1", False)):
        if cid == "d1":     # the far legs: the OUT call's, then the far end's IN call, before the DUT's INVITE
            _invite(c, DUT_FAR, FAR, NUM, "b1", DUT_FAR, DUT_FAR, DUT_FAR, DUT_FAR)
            _invite(c, FAR, DUT_FAR, IN_NUM, "c1", FAR, FAR, FAR, FAR, marker=True)
        via, frm, to = (f"Via: SIP/2.0/TLS {src}:5061;branch=z9hG4bK-{cid}", f"From: <sip:+100@x>;tag=f{cid}",
                        f"To: <sip:{num}@gw.example>")
        tls.sip(src, sip(f"INVITE sip:{num}@gw.example SIP/2.0", via, "Max-Forwards: 70", frm, to,
                         f"Call-ID: {cid}@x", "CSeq: 1 INVITE", *([f"{checks.MARKER}: {SEC03}"] if marker else []),
                         "Content-Type: application/sdp", body=sdp(1, src)))
        tls.sip(dst, sip("SIP/2.0 200 OK", via, frm, f"{to};tag=t{cid}", f"Call-ID: {cid}@x", "CSeq: 1 INVITE"))
    path, keys = tmp_path / "capture.pcapng", tmp_path / "keys.log"
    c.write(path)
    keys.write_text(f"CLIENT_RANDOM {CLIENT_RANDOM.hex()} {MASTER.hex()}\n")
    found = checks.no_cleartext_sip(read_trace(path, keys, [TLS_PORT], []), in_spec=IN_SPEC, out_spec=OUT_SPEC)
    assert [f.ok for f in found] == [True] and "went over TLS" in found[0].message, found
