"""Suite SRTP's checks on crafted captures: the DUT's SRTP/SRTCP toward the Mediation side is authenticated with the
key of its own a=crypto answer through libsrtp (sipqual.srtpauth), so cleartext, a corrupted tag, a wrong key or a
missing MKI each FAIL with the frame; a=crypto on a TCP trunk FAILs; an unsupported suite must be refused. The lab
proves the same end to end with faulty-srtp-clear and faulty-srtp-on-tcp (tests/test_lab.py)."""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

import pylibsrtp
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.sdp import Crypto  # noqa: E402
from sipqual.srtpauth import key_id, verify_flow  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-SRTP-01-tls-abc"
CALLED = "+15550002000"
SPEC = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)
CT = "Content-Type: application/sdp"
OUR_KEY = bytes(range(30))
DUT_KEY = bytes(range(100, 130))
OTHER_KEY = bytes(range(50, 80))
SUITE = "AES_CM_128_HMAC_SHA1_80"
MS_PORT, DUT_PORT = 30000, 40000


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def _dgram(c: Capture, src: str, sport: int, dst: str, dport: int, payload: bytes, dt: float = 0.02):
    c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
            payload, dt)


def _rtp(seq: int, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, seq * 160, 0xCA110001) + bytes([0xFF - (seq % 7)]) * 160


def _rtcp() -> bytes:
    cname = b"dut@lab.example"
    rr = struct.pack("!BBHI", 0x80, 201, 1, 0xCA110001)
    item = bytes([1, len(cname)]) + cname + b"\0"
    item += b"\0" * (-(4 + len(item)) % 4)
    return rr + struct.pack("!BBHI", 0x81, 202, (4 + len(item)) // 4, 0xCA110001) + item


def _sender(key: bytes, suite: str = SUITE):
    profile = {"AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
               "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32}[suite]
    return pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                              srtp_profile=profile))


def _ours(c: Capture, method: str, cseq: int, *extra, body: str = "", to_tag: str = ""):
    c.udp(MS, DUT, sip(f"{method} sip:{CALLED}@sbc.lab.example SIP/2.0",
                       f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-ms-{method.lower()}{cseq}", "Max-Forwards: 70",
                       "From: <sip:+14255550100@ms1.lab.example>;tag=ms1",
                       f"To: <sip:{CALLED}@sbc.lab.example>{to_tag}", "Call-ID: ms-call@192.0.2.10",
                       f"CSeq: {cseq} {method}", "Contact: <sip:ms@192.0.2.10:5060>", f"{checks.MARKER}: {TEST_ID}",
                       *extra, body=body))


def _to_ms(c: Capture, status: str, cseq: str = "1 INVITE", *extra, body: str = ""):
    c.udp(DUT, MS, sip(f"SIP/2.0 {status}", f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms-"
                       f"{cseq.split()[1].lower()}{cseq.split()[0]}",
                       "From: <sip:+14255550100@ms1.lab.example>;tag=ms1",
                       f"To: <sip:{CALLED}@sbc.lab.example>" + (";tag=dut1" if not status.startswith("100") else ""),
                       "Call-ID: ms-call@192.0.2.10", f"CSeq: {cseq}", "Contact: <sip:gw@192.0.2.1:5060>",
                       *extra, body=body))


def _far(c: Capture, method: str, cseq: int, status: str | None = None, body: str = "", tag: bool = False):
    via = f"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-dut-{method.lower()}{cseq}"
    frm, to, cid = ("From: <sip:+14255550100@sbc.lab.example>;tag=dutb",
                    f"To: <sip:{CALLED}@far.example>" + (";tag=far1" if tag else ""), "Call-ID: b-leg@192.0.2.1")
    if status is None:
        c.udp(DUT, FAR, sip(f"{method} sip:{CALLED}@far.example SIP/2.0", via, "Max-Forwards: 70", frm, to, cid,
                            f"CSeq: {cseq} {method}", "Contact: <sip:gw@192.0.2.1:5060>", *([CT] if body else []),
                            body=body))
    else:
        c.udp(FAR, DUT, sip(f"SIP/2.0 {status}", via, frm, to, cid, f"CSeq: {cseq} {method}",
                            "Contact: <sip:far@198.51.100.10:5060>", *([CT] if body else []), body=body))


def srtp_call(tmp_path: Path, fault: str | None = None, *, offer_proto: str = "RTP/SAVP",
              answer: str | None = None, answer_proto: str = "RTP/SAVP", mki: bool = False, packets: int = 30):
    """Our SRTP offer (tag 1, AES_CM_128_HMAC_SHA1_80), the far leg, the DUT's answer (``answer``: a whole a=crypto
    line, default one with DUT_KEY), its SRTP and SRTCP toward us (``fault``: clear, tag, key, rtcp-tag, no-mki),
    then our BYE relayed."""
    c = Capture()
    mki_part = "|1:1" if mki else ""
    _ours(c, "INVITE", 1, CT, body=sdp(1, MS, MS_PORT, proto=offer_proto,
                                       extra=(f"a=crypto:1 {SUITE} inline:{b64(OUR_KEY)}|2^31{mki_part}",)))
    _to_ms(c, "100 Trying")
    _far(c, "INVITE", 1, body=sdp(1, DUT, 50000))
    _far(c, "INVITE", 1, "200 OK", body=sdp(1, FAR, 26000, pts=(0,)), tag=True)
    line = answer if answer is not None else f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}{mki_part}"
    _to_ms(c, "200 OK", "1 INVITE", CT, body=sdp(1, DUT, DUT_PORT, pts=(0,), proto=answer_proto,
                                                extra=(line,) if line else ()))
    _ours(c, "ACK", 1, to_tag=";tag=dut1")
    tx = _sender(OTHER_KEY if fault == "key" else DUT_KEY)
    for i in range(packets):
        pkt = _rtp(i + 1) if fault in ("clear", "declined") else tx.protect(_rtp(i + 1))
        if fault == "tag" and i == 10:
            pkt = pkt[:-1] + bytes([pkt[-1] ^ 0x01])
        if mki and fault != "no-mki" and fault not in ("clear", "declined"):
            pkt = pkt[:-10] + b"\x01" + pkt[-10:]
        _dgram(c, DUT, DUT_PORT, MS, MS_PORT, pkt)
        if i % 10 == 5:
            rtcp = _rtcp() if fault == "clear" else tx.protect_rtcp(_rtcp())
            if fault == "rtcp-tag":
                rtcp = rtcp[:-1] + bytes([rtcp[-1] ^ 0x80])
            if mki and fault not in ("clear", "no-mki"):
                rtcp = rtcp[:-10] + b"\x01" + rtcp[-10:]
            _dgram(c, DUT, DUT_PORT + 1, MS, MS_PORT + 1, rtcp)
    _ours(c, "BYE", 2, to_tag=";tag=dut1")
    _to_ms(c, "200 OK", "2 BYE")
    _far(c, "BYE", 2, tag=True)
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


def test_authenticated_srtp_and_srtcp_pass(tmp_path):
    found = checks.srtp_call(srtp_call(tmp_path), spec=SPEC, rtcp=True)
    assert not _bad(found), _bad(found)
    rules = {f.rule: f.message for f in found}
    assert "30 of 30 packets authenticated" in rules["SRTP-04"]
    assert "SRTCP" in rules["RFC3711-02"] and "3 of 3 packets authenticated" in rules["RFC3711-02"]


def test_cleartext_rtp_although_srtp_negotiated_fails(tmp_path):
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, "clear"), spec=SPEC, rtcp=True))
    assert [f.rule for f in bad] == ["SRTP-04", "RFC3711-02"]
    assert "30 cleartext" in bad[0].message and "cleartext RTP" in bad[0].message and bad[0].frames
    assert "cleartext RTCP" in bad[1].message


def test_one_corrupted_tag_fails_with_its_frame(tmp_path):
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, "tag"), spec=SPEC))
    assert [f.rule for f in bad] == ["SRTP-04"]
    assert "29 of 30 packets authenticated, 1 failing authentication" in bad[0].message
    assert "authentication failure" in bad[0].message and bad[0].frames


def test_srtp_with_another_key_than_the_answer_fails(tmp_path):
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, "key"), spec=SPEC, rtcp=True))
    assert [f.rule for f in bad] == ["SRTP-04", "RFC3711-02"]
    assert "0 of 30 packets authenticated, 30 failing authentication" in bad[0].message


def test_corrupted_srtcp_tag_fails(tmp_path):
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, "rtcp-tag"), spec=SPEC, rtcp=True))
    assert [f.rule for f in bad] == ["RFC3711-02"] and "failing authentication" in bad[0].message


def test_mki_is_taken_out_before_authentication_and_a_missing_one_fails(tmp_path):
    found = checks.srtp_call(srtp_call(tmp_path, mki=True), spec=SPEC, rtcp=True)
    assert not _bad(found), _bad(found)
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, "no-mki", mki=True), spec=SPEC))
    assert [f.rule for f in bad][:1] == ["SRTP-04"] and "1-byte MKI" in bad[0].message


def test_asymmetric_mki_answer_fails_and_symmetric_one_is_recorded(tmp_path):
    """Our line has an MKI (|2^31|1:1); the DUT answers its key without one: SRTP-05 (R) FAILs; with it, passes."""
    trace = srtp_call(tmp_path, mki=True, answer=f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}")
    bad = _bad(checks.srtp_call(trace, spec=SPEC))
    assert "SRTP-05" in [f.rule for f in bad] and "an MKI in the answer iff" in bad[0].message
    found = checks.srtp_call(srtp_call(tmp_path, mki=True), spec=SPEC)
    assert any(f.ok and f.rule == "SRTP-05" and "with MKI 1:1" in f.message for f in found)


def test_wrong_mki_value_in_packets_fails(tmp_path):
    trace = srtp_call(tmp_path, mki=True, answer=f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}|2:1")
    bad = _bad(checks.srtp_call(trace, spec=SPEC))
    assert [f.rule for f in bad] == ["SRTP-05"] and "MKI values [1]" in bad[0].message


def test_answer_with_a_suite_we_did_not_offer_fails(tmp_path):
    line = f"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:{b64(DUT_KEY)}"
    bad = _bad(checks.srtp_call(srtp_call(tmp_path, answer=line), spec=SPEC))
    assert [f.rule for f in bad] == ["RFC4568-02"]


def test_avp_answer_to_savp_offer_fails(tmp_path):
    trace = srtp_call(tmp_path, "declined", answer="", answer_proto="RTP/AVP")
    bad = _bad(checks.srtp_call(trace, spec=SPEC))
    assert [f.rule for f in bad] == ["SRTP-01"] and "RTP/AVP" in bad[0].message


def test_keys_never_appear_in_findings(tmp_path):
    found = checks.srtp_call(srtp_call(tmp_path, "key"), spec=SPEC, rtcp=True)
    text = " ".join(f.message for f in found)
    for key in (OUR_KEY, DUT_KEY, OTHER_KEY):
        assert b64(key) not in text and b64(key)[:12] not in text
    assert key_id(DUT_KEY) in text


def test_optional_offer_declined_with_plain_rtp_passes_and_avp_with_crypto_fails(tmp_path):
    declined = srtp_call(tmp_path, "declined", offer_proto="RTP/AVP", answer="", answer_proto="RTP/AVP")
    found = checks.srtp_optional_call(declined, spec=SPEC, mode="optional")
    assert not _bad(found) and any("declined" in f.message for f in found)
    line = f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}"
    avp_crypto = srtp_call(tmp_path, "declined", offer_proto="RTP/AVP", answer=line, answer_proto="RTP/AVP")
    bad = _bad(checks.srtp_optional_call(avp_crypto, spec=SPEC, mode="optional"))
    assert [f.rule for f in bad] == ["SRTP-03"] and "RTP/AVP with 1 a=crypto" in bad[0].message


def _refused(tmp_path, status: str, body: str = ""):
    c = Capture()
    _ours(c, "INVITE", 1, CT, body=sdp(1, MS, MS_PORT, proto="RTP/SAVP",
                                       extra=(f"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:{b64(bytes(46))}",)))
    _to_ms(c, status, "1 INVITE", *([CT] if body else []), body=body)
    path = tmp_path / "r.pcapng"
    c.write(path)
    return read_trace(path)


@pytest.mark.parametrize("status,mode,ok", [("488 Not Acceptable Here", "required", True),
                                            ("503 Service Unavailable", "required", False),
                                            ("200 OK", "required", False), ("200 OK", "optional", True)])
def test_unsupported_suite_refused_per_mode(tmp_path, status, mode, ok):
    body = sdp(1, DUT, DUT_PORT, pts=(0,)) if status.startswith("200") else ""
    found = checks.unsupported_suite_refused(_refused(tmp_path, status, body), spec=SPEC, mode=mode,
                                             suite="AES_256_CM_HMAC_SHA1_80")
    assert [f.ok for f in found] == [ok] and found[0].rule == "SRTP-07"


def _in_call_over_tcp(tmp_path, crypto: bool):
    c = Capture()
    body = sdp(1, DUT, DUT_PORT, proto="RTP/SAVP" if crypto else "RTP/AVP",
               extra=(f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}",) if crypto else ())
    c.tcp(DUT, MS, sip("INVITE sip:+14255550123@ms1.lab.example SIP/2.0",
                       "Via: SIP/2.0/TCP 192.0.2.1:5066;branch=z9hG4bK-in1", "Max-Forwards: 69",
                       "From: <sip:+15550001000@sbc.lab.example>;tag=in1", "To: <sip:+14255550123@ms1.lab.example>",
                       "Call-ID: in-call@192.0.2.1", "CSeq: 1 INVITE", "Contact: <sip:gw@192.0.2.1:5066>", CT,
                       body=body))
    path = tmp_path / "t.pcapng"
    c.write(path)
    return read_trace(path)


def test_crypto_on_tcp_fails_and_plain_sdp_passes(tmp_path):
    spec = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT,
                           called="+14255550123")
    bad = _bad(checks.no_crypto_on_tcp(_in_call_over_tcp(tmp_path, True), ms_ip=MS, dut_ip=DUT, spec=spec))
    assert [f.rule for f in bad] == ["RFC4568-03"] and "1 a=crypto" in bad[0].message and "<key>" in bad[0].message
    assert b64(DUT_KEY) not in bad[0].message and bad[0].frames
    found = checks.no_crypto_on_tcp(_in_call_over_tcp(tmp_path, False), ms_ip=MS, dut_ip=DUT, spec=spec)
    assert [f.ok for f in found] == [True] and "none with a=crypto" in found[0].message


def test_verify_flow_names_the_key_by_fingerprint_only(tmp_path):
    srtp_call(tmp_path)
    res = verify_flow(tmp_path / "c.pcapng", DUT, MS, MS_PORT, Crypto(1, SUITE, f"inline:{b64(DUT_KEY)}"))
    assert res.ok and res.key == key_id(DUT_KEY) and res.authenticated == 30
    assert verify_flow(tmp_path / "c.pcapng", DUT, MS, MS_PORT, Crypto(1, SUITE, "inline:short")) is None


@pytest.mark.parametrize("value", ["1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY|2^31",
                                   "x AES inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
                                   "1 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY!!|2^31"])
def test_passive_crypto_grammar_rule_never_prints_the_key(value):
    """RFC4568-01 on a malformed line (short key, bad tag, bad base64) names what is wrong, not the key."""
    from sipqual.rules.offer_answer import _crypto_line

    out = _crypto_line(value, 3)
    assert out.observed and "QUJDREVG" not in out.observed and "inline:<key>" in out.observed


@pytest.mark.parametrize("mki_bytes, held", [(0, True), (1, True), (2, False)])
def test_passive_srtp_rule_accepts_any_offered_crypto_line(mki_bytes, held):
    """RFC3711-01 on the DUT's SRTP to us: our offer lists a line with a 1-byte MKI and one without (as Lync does);
    the DUT uses the one its answer accepted, so payloads of 160 + 10 (+ 1) bytes both fit; + 2 fits neither."""
    import os

    from sipqual.rtp import MediaModel
    from sipqual.rules.media import MediaContext
    from sipqual.rules.media_srtp import srtp_packets
    from sipqual.sdp import parse_sdp
    from sipqual.trace import Trace

    offer = parse_sdp(f"v=0\r\no=- 1 1 IN IP4 {MS}\r\ns=-\r\nc=IN IP4 {MS}\r\nt=0 0\r\nm=audio 16000 RTP/SAVP 0\r\n"
                      f"a=crypto:1 {SUITE} inline:{b64(OUR_KEY)}|2^31|1:1\r\n"
                      f"a=crypto:2 {SUITE} inline:{b64(OUR_KEY)}|2^31\r\n")
    m = MediaModel()
    rnd = os.urandom(4000)
    for i in range(30):
        payload = rnd[i * 100:i * 100 + 170 + mki_bytes]
        assert m.feed(i + 1, 10.0 + 0.02 * i, None, DUT, 30000, MS, 16000,
                      struct.pack("!BBHII", 0x80, 0, i + 1, i * 160, 0xCA110001) + payload)
    m.apply_sdp([(1, 9.0, offer)])
    (stream,) = m.rtp_streams
    (outcome,) = srtp_packets(stream, MediaContext(Trace(Path("x.pcapng"), media=m), {DUT}))
    assert (outcome.observed is None) == held, outcome
    assert "10-byte tag + 1-byte MKI or 10-byte tag" in outcome.expected


IN_CALLED = "+14255550123"
IN_SPEC = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=IN_CALLED)


def dut_offer_call(tmp_path: Path, *, proto: str = "RTP/SAVP", suites=(SUITE, "AES_CM_128_HMAC_SHA1_32"),
                   clear: bool = False):
    """TC-SRTP-03: the far caller's INVITE (marked), the DUT's offer to us (``proto``, one line per suite, tag 1 with
    DUT_KEY), our 200 accepting tag 1 with OUR_KEY, the DUT's RTP to us (SRTP, or ``clear``), our BYE relayed."""
    c = Capture()
    fvia, ffrom, fto, fcid = ("Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-far1",
                              "From: <sip:+15550001000@far.example>;tag=far1", f"To: <sip:{IN_CALLED}@sbc.lab.example>",
                              "Call-ID: far-call@198.51.100.10")
    c.udp(FAR, DUT, sip(f"INVITE sip:{IN_CALLED}@sbc.lab.example SIP/2.0", fvia, "Max-Forwards: 70", ffrom, fto, fcid,
                        "CSeq: 1 INVITE", "Contact: <sip:far@198.51.100.10:5060>", f"{checks.MARKER}: {TEST_ID}", CT,
                        body=sdp(1, FAR, 26000)))
    lines = tuple(f"a=crypto:{i + 1} {s} inline:{b64(DUT_KEY if i == 0 else OTHER_KEY)}|2^31"
                  for i, s in enumerate(suites))
    mvia, mfrom, mto, mcid = ("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-dut-in1",
                              "From: <sip:+15550001000@sbc.lab.example>;tag=dutm", f"To: <sip:{IN_CALLED}@ms1.lab.example>",
                              "Call-ID: ms-leg@192.0.2.1")
    c.udp(DUT, MS, sip(f"INVITE sip:{IN_CALLED}@ms1.lab.example SIP/2.0", mvia, "Max-Forwards: 69", mfrom, mto, mcid,
                       "CSeq: 1 INVITE", "Contact: <sip:gw@192.0.2.1:5060>", CT,
                       body=sdp(1, DUT, DUT_PORT, proto=proto, extra=lines)))
    c.udp(MS, DUT, sip("SIP/2.0 200 OK", mvia, mfrom, f"{mto};tag=ms1", mcid, "CSeq: 1 INVITE",
                       "Contact: <sip:ms@192.0.2.10:5060>", CT,
                       body=sdp(1, MS, MS_PORT, pts=(0,), proto="RTP/SAVP",
                                extra=(f"a=crypto:1 {SUITE} inline:{b64(OUR_KEY)}|2^31",))))
    c.udp(DUT, FAR, sip("SIP/2.0 200 OK", fvia, ffrom, f"{fto};tag=dutf", fcid, "CSeq: 1 INVITE",
                        "Contact: <sip:gw@198.51.100.1:5060>", CT, body=sdp(1, DUT, 50000, pts=(0,))))
    tx = _sender(DUT_KEY)
    for i in range(30):
        _dgram(c, DUT, DUT_PORT, MS, MS_PORT, _rtp(i + 1) if clear else tx.protect(_rtp(i + 1)))
    c.udp(MS, DUT, sip("BYE sip:gw@192.0.2.1:5060 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-msbye",
                       "Max-Forwards: 70", f"From: <sip:{IN_CALLED}@ms1.lab.example>;tag=ms1",
                       "To: <sip:+15550001000@sbc.lab.example>;tag=dutm", mcid, "CSeq: 1 BYE"))
    c.udp(DUT, MS, sip("SIP/2.0 200 OK", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-msbye",
                       f"From: <sip:{IN_CALLED}@ms1.lab.example>;tag=ms1",
                       "To: <sip:+15550001000@sbc.lab.example>;tag=dutm", mcid, "CSeq: 1 BYE"))
    c.udp(DUT, FAR, sip("BYE sip:far@198.51.100.10:5060 SIP/2.0", "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-b",
                        "Max-Forwards: 70", f"From: {fto[4:]};tag=dutf", f"To: {ffrom[6:]}", fcid, "CSeq: 1 BYE"))
    path = tmp_path / "in.pcapng"
    c.write(path)
    return read_trace(path)


def test_dut_srtp_offer_accepted_and_authenticated_passes(tmp_path):
    found = checks.dut_srtp_offer(dut_offer_call(tmp_path), spec=IN_SPEC, mode="required")
    assert not _bad(found), _bad(found)
    assert any(f.rule == "SRTP-04" and "30 of 30 packets authenticated" in f.message for f in found)


@pytest.mark.parametrize("kw, mode, rule", [({"proto": "RTP/AVP"}, "required", "SRTP-01"),
                                            ({"suites": ("AES_CM_128_HMAC_SHA1_32",)}, "required", "SRTP-02"),
                                            ({"clear": True}, "required", "SRTP-04"),
                                            ({"proto": "RTP/AVP", "clear": True}, "optional", "SRTP-04")])
def test_dut_srtp_offer_faults_fail(tmp_path, kw, mode, rule):
    bad = _bad(checks.dut_srtp_offer(dut_offer_call(tmp_path, **kw), spec=IN_SPEC, mode=mode))
    assert bad and bad[0].rule == rule and bad[0].frames, bad
