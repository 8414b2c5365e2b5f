"""TC-OPT-03, TC-OPT-05, TC-TRN-03, TC-TRN-04 and TC-TRN-07 checks on crafted captures: each fault the lab's
faulty variants do not reach cheaply FAILs with the right rule (tests/test_lab.py proves the rest end to end).
The TLS checks read the handshakes with :func:`sipqual.tlsfacts.read_tls_facts`; here it is given crafted
connections, the SIP beside them being a crafted capture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks, tlsfacts  # noqa: E402
from sipqual.tlsfacts import TlsConnection  # noqa: E402
from sipqual.tlsfindings import wire_findings  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-X-tcp-abc"
CALLED = "+15550002000"
SPEC = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)
CT = "Content-Type: application/sdp"


def _trace(c: Capture, tmp_path: Path):
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def bad(found):
    return [f for f in found if not f.ok]


# ---- TC-OPT-03: the DUT's OPTIONS pings ------------------------------------------------------------------------
def _ping(c: Capture, n: int, *, mf: str = "Max-Forwards: 70", branch: str = "z9hG4bK-p", tag: str = ";tag=gw"):
    c.udp(DUT, MS, sip("OPTIONS sip:mspool.lab.example:5060 SIP/2.0", f"Via: SIP/2.0/UDP {DUT}:5060;branch={branch}{n}",
                       mf, f"From: <sip:sbc.lab.example>{tag}{n}", "To: <sip:mspool.lab.example>",
                       f"Call-ID: ping{n}@{DUT}", f"CSeq: {n} OPTIONS"), dt=2.0)
    c.udp(MS, DUT, sip("SIP/2.0 200 OK", f"Via: SIP/2.0/UDP {DUT}:5060;branch={branch}{n}",
                       f"From: <sip:sbc.lab.example>{tag}{n}", "To: <sip:mspool.lab.example>;tag=ms",
                       f"Call-ID: ping{n}@{DUT}", f"CSeq: {n} OPTIONS"))


def test_opt03_well_formed_pings_pass_with_their_interval(tmp_path):
    c = Capture()
    for n in range(3):
        _ping(c, n)
    found = checks.options_pings(_trace(c, tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060)
    assert not bad(found) and "interval median 2.0 s, range 2.0-2.0 s over 3 pings" in found[-1].message


def test_opt03_malformed_ping_fails_naming_each_defect(tmp_path):
    c = Capture()
    _ping(c, 1)
    _ping(c, 2, mf="", branch="old-", tag="")
    found = bad(checks.options_pings(_trace(c, tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060))
    assert [f.rule for f in found] == ["OPT-03"] and found[0].frames
    for what in ("Max-Forwards missing", "top Via without a z9hG4bK branch", "From without a tag"):
        assert what in found[0].message


def test_opt03_no_ping_in_the_window_fails(tmp_path):
    c = Capture()
    c.udp(MS, DUT, sip("OPTIONS sip:sbc.lab.example SIP/2.0", f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-x",
                       "Max-Forwards: 70", "From: <sip:ms>;tag=1", "To: <sip:sbc>", "Call-ID: x", "CSeq: 1 OPTIONS"))
    found = bad(checks.options_pings(_trace(c, tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060))
    assert len(found) == 1 and found[0].message.startswith("OPT-03: expected out-of-dialog OPTIONS from the DUT")


# ---- TC-OPT-05: in-dialog OPTIONS and Max-Forwards 0 -------------------------------------------------------------
def _req(c, src, dst, method, cseq, *, to_tag="", call="ms-call@192.0.2.10", marker=TEST_ID, mf="70", frm="ms1",
         ruri=f"sip:{CALLED}@sbc.lab.example", extra=(), body=""):
    c.udp(src, dst, sip(f"{method} {ruri} SIP/2.0", f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{call[:4]}{cseq}",
                        f"Max-Forwards: {mf}", f"From: <sip:+14255550100@ms1.lab.example>;tag={frm}",
                        f"To: <sip:{CALLED}@sbc.lab.example>{to_tag}", f"Call-ID: {call}", f"CSeq: {cseq} {method}",
                        "Contact: <sip:ms@192.0.2.10:5060>", f"X-Sipqual-Test: {marker}", *extra, body=body))


def _resp(c, src, dst, status, cseq, *, call="ms-call@192.0.2.10", frm="ms1", extra=(), body=""):
    c.udp(src, dst, sip(f"SIP/2.0 {status}", f"Via: SIP/2.0/UDP {dst}:5060;branch=z9hG4bK-{call[:4]}"
                        f"{cseq.split()[0]}", f"From: <sip:+14255550100@ms1.lab.example>;tag={frm}",
                        f"To: <sip:{CALLED}@sbc.lab.example>;tag=dut1", f"Call-ID: {call}", f"CSeq: {cseq}",
                        "Contact: <sip:gw@192.0.2.1:5060>", *extra, body=body))


def _opt05(tmp_path, mf0_answer: str | None, forward_mf0: bool = False):
    c = Capture()
    _req(c, MS, DUT, "INVITE", 1, extra=[CT], body=sdp(1, MS, 30000))
    _req(c, DUT, FAR, "INVITE", 1, call="b-leg@192.0.2.1", frm="dutb", marker="", extra=[CT], body=sdp(1, DUT, 40000))
    _resp(c, FAR, DUT, "200 OK", "1 INVITE", call="b-leg@192.0.2.1", frm="dutb", extra=[CT],
          body=sdp(1, FAR, 50000, pts=(0,)))
    _resp(c, DUT, MS, "200 OK", "1 INVITE", extra=[CT], body=sdp(1, DUT, 40002, pts=(0,)))
    _req(c, MS, DUT, "ACK", 1, to_tag=";tag=dut1")
    _req(c, MS, DUT, "OPTIONS", 2, to_tag=";tag=dut1")
    _resp(c, DUT, MS, "200 OK", "2 OPTIONS")
    _req(c, MS, DUT, "BYE", 3, to_tag=";tag=dut1")
    _resp(c, DUT, MS, "200 OK", "3 BYE")
    _req(c, MS, DUT, "OPTIONS", 1, call="mf0@192.0.2.10", marker=TEST_ID + "-mf0", mf="0",
         ruri="sip:sbc.lab.example")
    if forward_mf0:
        _req(c, DUT, FAR, "OPTIONS", 1, call="mf0-b@192.0.2.1", marker="", mf="0", ruri="sip:far.example")
    if mf0_answer:
        _resp(c, DUT, MS, mf0_answer, "1 OPTIONS", call="mf0@192.0.2.10")
    return checks.options_in_dialog(_trace(c, tmp_path), spec=SPEC, mf0_id=TEST_ID + "-mf0")


def test_opt05_in_dialog_options_and_483_pass(tmp_path):
    found = _opt05(tmp_path, "483 Too Many Hops")
    assert not bad(found) and "answered 483 Too Many Hops" in found[-1].message


def test_opt05_forwarding_max_forwards_0_fails(tmp_path):
    found = bad(_opt05(tmp_path, "483 Too Many Hops", forward_mf0=True))
    assert len(found) == 1 and "the DUT sent OPTIONS on to 198.51.100.10 with Max-Forwards 0" in found[0].message


@pytest.mark.parametrize("answer,observed", [(None, "observed no response"), ("404 Not Found", "observed 404")])
def test_opt05_max_forwards_0_unanswered_or_wrongly_answered_fails(tmp_path, answer, observed):
    found = bad(_opt05(tmp_path, answer))
    assert len(found) == 1 and found[0].message.startswith("OPT-02: expected 483 or 200") and observed in \
        found[0].message


# ---- TLS: crafted handshakes --------------------------------------------------------------------------------------
def _cert(cn: str, san: list[str] | None = None) -> dict:
    return {"subject": f"CN={cn}", "subject_cn": cn, "issuer": "CN=Lab Test CA", "san_dns": san or []}


def _tls(monkeypatch, *conns):
    monkeypatch.setattr(tlsfacts, "read_tls_facts", lambda *a, **k: list(conns))


def _dut_invite_over(tmp_path):
    """The DUT's INVITE on TCP 192.0.2.1:40000 -> 192.0.2.10:5060 (the fixtures' TCP ports)."""
    c = Capture()
    c.tcp(DUT, MS, sip(f"INVITE sip:{CALLED}@ms1.lab.example SIP/2.0", f"Via: SIP/2.0/TCP {DUT}:5060;branch=z9hG4bK-i",
                       "Max-Forwards: 70", "From: <sip:a@sbc.lab.example>;tag=1", f"To: <sip:{CALLED}@ms1>",
                       "Call-ID: in@1", "CSeq: 1 INVITE", "Contact: <sip:gw@192.0.2.1:5060;transport=tcp>"))
    return _trace(c, tmp_path)


def _client_conn(certs, alerts=()):
    return TlsConnection(1, client=f"{DUT}:40000", server=f"{MS}:5060", version="TLS 1.2", cipher="X",
                         server_certs=[_cert("mspool.lab.example", ["mspool.lab.example"])], client_certs=certs,
                         frames=[3, 5], alerts=list(alerts))


def test_trn04_dut_presenting_its_certificate_and_sending_sip_passes(tmp_path, monkeypatch):
    _tls(monkeypatch, _client_conn([_cert("sbc.lab.example")]))
    found = checks.dut_tls_client(_dut_invite_over(tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060,
                                  pool_names=["mspool.lab.example"], tls_ports=[5060])
    assert not bad(found) and {f.rule for f in found} == {"TLS-01", "TLS-02"}


def test_trn04_dut_without_client_certificate_fails_tls01(tmp_path, monkeypatch):
    _tls(monkeypatch, _client_conn([]))
    found = bad(checks.dut_tls_client(_dut_invite_over(tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060,
                                      pool_names=["mspool.lab.example"], tls_ports=[5060]))
    assert [f.rule for f in found] == ["TLS-01"] and "none on the wire" in found[0].message


def test_trn04_dut_refusing_the_pool_certificate_fails_tls02(tmp_path, monkeypatch):
    c = Capture()
    c.udp(MS, DUT, sip("OPTIONS sip:x SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1",
                       "From: <sip:m>;tag=1", "To: <sip:x>", "Call-ID: o", "CSeq: 1 OPTIONS"))
    _tls(monkeypatch, _client_conn([_cert("sbc.lab.example")], alerts=[(4, f"{DUT}:40000", "unknown_ca")]))
    found = bad(checks.dut_tls_client(_trace(c, tmp_path), dut_ip=DUT, ms_ip=MS, ms_port=5060,
                                      pool_names=["mspool.lab.example"], tls_ports=[5060]))
    assert [f.rule for f in found] == ["TLS-02"] and "unknown_ca (frame 4)" in found[0].message


def _server_conn(cert: dict, **kw):
    return TlsConnection(2, client=f"{MS}:40000", server=f"{DUT}:5061", version="TLS 1.2", cipher="X",
                         server_certs=[cert], frames=[7], **kw)


@pytest.mark.parametrize("cert,ok", [
    (_cert("sbc.lab.example", ["sbc.lab.example"]), True),
    (_cert("sbc.lab.example"), True),                          # no SAN: the CN counts
    (_cert("sbc.lab.example", ["other.lab.example"]), False),  # a SAN present: the CN does not count (RFC 6125)
    (_cert("wrong.lab.example", ["wrong.lab.example"]), False),
])
def test_trn07_dut_certificate_names_the_configured_fqdn(tmp_path, monkeypatch, cert, ok):
    _tls(monkeypatch, _server_conn(cert))
    found = checks.dut_certificate_names(_trace(Capture(), tmp_path), dut_ip=DUT, dut_port=5061,
                                         dut_fqdn="sbc.lab.example", tls_ports=[5061])
    assert len(found) == 1 and found[0].rule == "TLS-03" and found[0].ok is ok


def _options_over(c: Capture, marker: str, call: str, answer: bool):
    c.tcp(MS, DUT, sip("OPTIONS sip:sbc.lab.example SIP/2.0", "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-o",
                       "Max-Forwards: 70", "From: <sip:ms>;tag=1", "To: <sip:sbc>", f"Call-ID: {call}",
                       "CSeq: 1 OPTIONS", f"X-Sipqual-Test: {marker}"))
    if answer:
        c.tcp(DUT, MS, sip("SIP/2.0 200 OK", "Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-o",
                           "From: <sip:ms>;tag=1", "To: <sip:sbc>;tag=2", f"Call-ID: {call}", "CSeq: 1 OPTIONS"))


@pytest.mark.parametrize("requested,probe_answered,rules", [
    (True, False, []),
    (False, False, ["TLS-01"]),          # no CertificateRequest
    (True, True, ["TLS-01"]),            # the probe without a certificate was answered
])
def test_trn03_mutual_tls_server(tmp_path, monkeypatch, requested, probe_answered, rules):
    c = Capture()
    _options_over(c, TEST_ID, "ok@1", answer=True)
    _options_over(c, TEST_ID + "-nocert", "probe@1", answer=probe_answered)
    ok = TlsConnection(1, client=f"{MS}:5060", server=f"{DUT}:40000", version="TLS 1.2", cipher="X",
                       server_certs=[_cert("sbc.lab.example")], client_certs=[_cert("mspool.lab.example")],
                       frames=[1], cert_requested=requested)
    probe = TlsConnection(2, client=f"{MS}:5061", server=f"{DUT}:40000", version="TLS 1.2", cipher="X",
                          server_certs=[_cert("sbc.lab.example")], frames=[9], cert_requested=True)
    _tls(monkeypatch, ok, probe)
    found = checks.mutual_tls_server(_trace(c, tmp_path), test_id=TEST_ID, probe_id=TEST_ID + "-nocert", our_ip=MS,
                                     dut_ip=DUT, dut_port=40000, tls_ports=[40000])
    assert [f.rule for f in bad(found)] == rules


def test_refusing_a_client_without_certificate_is_no_dut_fault_on_the_wire():
    """The DUT's certificate_required alert or close after a client that presented no certificate (the TC-TRN-03
    probe) is what mutual TLS asks; the same alert after our certificate is still a finding."""
    def conn(client_certs):
        return TlsConnection(1, client=f"{MS}:5061", server=f"{DUT}:5067", version="TLS 1.2", cipher="X",
                             server_certs=[_cert("sbc.lab.example", ["sbc.lab.example"])], client_certs=client_certs,
                             frames=[1], cert_requested=True, alerts=[(5, f"{DUT}:5067", "handshake_failure")],
                             silent_closes=[(6, f"{DUT}:5067")])
    assert not bad(wire_findings([conn([])], {DUT}, "sbc.lab.example", hint="h"))
    assert [f.rule for f in bad(wire_findings([conn([_cert("ms")])], {DUT}, "sbc.lab.example", hint="h"))] == \
        ["TLS-02"]
