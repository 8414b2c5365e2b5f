"""TLS facts from captures (pyshark) and the TLS-01/TLS-03 judgement of the handshakes on the wire."""

import asyncio
import os
from pathlib import Path

import pytest

from sipqual.tlsfacts import TlsConnection, read_tls_facts
from sipqual.tlsfindings import wire_findings

# ../shared beside the checkout (the project layout); SIPQUAL_SHARED points elsewhere (e.g. from a worktree)
CAPTURES = Path(os.environ.get("SIPQUAL_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "captures"
DUT = {"192.0.2.1"}
CERT = {"subject": "CN=sbc.lab.example", "subject_cn": "sbc.lab.example", "issuer": "CN=Lab Test CA",
        "san_dns": ["sbc.lab.example"]}


def conn(server_certs=(), client_certs=(), version="TLS 1.2", server="192.0.2.1:5067", client="192.0.2.10:40000"):
    return TlsConnection(1, client=client, server=server, version=version, cipher="TLS_X",
                         server_certs=list(server_certs), client_certs=list(client_certs), frames=[4, 6])


def test_dut_presenting_its_certificate_holds():
    found = wire_findings([conn([CERT], [dict(CERT, subject="CN=mspool")])], DUT, "sbc.lab.example")
    assert [(f.rule, f.ok) for f in found] == [("TLS-01", True), ("TLS-03", True)]


def test_no_certificate_from_the_dut_is_a_mandatory_violation():
    found = wire_findings([conn([], [CERT])], DUT, "sbc.lab.example")
    assert [(f.rule, f.ok, f.severity) for f in found] == [("TLS-01", False, "M")]
    assert "none on the wire" in found[0].message and found[0].frames == [4]


def test_dut_as_client_without_certificate_breaks_mutual_tls():
    found = wire_findings([conn([dict(CERT, subject="CN=mspool")], [], server="192.0.2.10:5067",
                                client="192.0.2.1:40000")], DUT, "sbc.lab.example")
    assert [(f.rule, f.ok) for f in found] == [("TLS-01", False)] and "as TLS client" in found[0].message


def test_certificate_for_another_name_is_tls03():
    other = dict(CERT, subject_cn="wrong.lab.example", san_dns=["wrong.lab.example"])
    found = wire_findings([conn([other])], DUT, "sbc.lab.example")
    assert [(f.rule, f.ok, f.severity) for f in found] == [("TLS-01", True, "M"), ("TLS-03", False, "R")]


def test_tls13_without_key_log_concludes_nothing():
    assert wire_findings([conn([], [], version="TLS 1.3")], DUT, "sbc.lab.example", decrypted=False) == []


def _children() -> set[int]:
    me = os.getpid()
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                state, ppid = (d / "stat").read_text().rsplit(")", 1)[1].split()[:2]
                if int(ppid) == me and state != "Z":  # a zombie has exited; asyncio's watcher reaps it
                    out.add(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/captures is not beside this checkout")
def test_reads_a_real_tls13_capture_and_leaves_no_tshark():
    before = _children()
    conns = read_tls_facts(CAPTURES / "ng911--BCF_010_tls_sip.pcap", CAPTURES / "ng911--BCF_010_sip_sslkeys.log",
                           [5061])
    assert {c.version for c in conns} == {"TLS 1.3"} and all(c.cipher.startswith("TLS_AES") for c in conns)
    assert len(conns) == 2 and all(c.server.endswith(":5061") for c in conns)
    assert _children() <= before


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/captures is not beside this checkout")
def test_works_after_asyncio_run_left_no_current_loop():
    asyncio.run(asyncio.sleep(0))  # leaves the main thread without a current event loop
    conns = read_tls_facts(CAPTURES / "ng911--BCF_010_tls_sip.pcap", None, [5061])
    assert conns and _children() == set()


# ---- the DUT refusing our certificate (issue 10 item 7), and the client certificate as a Lync profile demand ----

@pytest.fixture(scope="module")
def wire_pki(tmp_path_factory):
    from sipqual.pki import create_pki

    p = create_pki(tmp_path_factory.mktemp("pki"), {
        "mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example"]},
        "dut": {"cn": "sbc.lab.example", "dns": ["sbc.lab.example"]}})
    p.issue("rogue-mediation", "mspool.lab.example", ["mspool.lab.example"], ca="rogue")
    return p


def _sides(pki, ours="mediation"):
    from tlswire import DUT as dut_ip, MS, Side

    ms = Side(MS, 40001, pki.certs[ours].cert, pki.certs[ours].key, pki.ca.cert)
    dut = Side(dut_ip, 5061, pki.certs["dut"].cert, pki.certs["dut"].key, pki.ca.cert)  # requires our certificate
    return ms, dut


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_dut_refusing_our_certificate_on_the_wire_is_a_tls02_fail(tmp_path, wire_pki, version):
    from sipqual.tlsfindings import refusal_hint
    from tlswire import options_pair, tls_capture

    ms, dut = _sides(wire_pki, "rogue-mediation")   # our certificate from a CA the device does not trust
    w = tls_capture(tmp_path, ms, dut, version=version, messages=options_pair(ms.ip, dut.ip))
    assert w.server_error == "CERTIFICATE_VERIFY_FAILED"            # the DUT refused, and said so with an alert
    conns = read_tls_facts(w.pcap, w.keylog, [5061])
    found = wire_findings(conns, DUT, "sbc.lab.example", decrypted=True, hint=refusal_hint("CN=Lab Test CA", None))
    bad = [f for f in found if not f.ok]
    assert [(f.rule, f.severity, f.requirements) for f in bad] == [("TLS-02", "M", ["TLS-01", "TLS-02"])], found
    assert "TLS alert unknown_ca" in bad[0].message and bad[0].frames and "(frame " in bad[0].message
    assert "hint: does the device trust CN=Lab Test CA" in bad[0].message
    # without a profile nobody states what the device trusts: refusing may be right (TLS-02 negative), so recorded
    (rec,) = [f for f in wire_findings(conns, DUT, None, decrypted=True) if not f.ok]
    assert (rec.rule, rec.severity) == ("TLS-02", "I")


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_accepted_certificate_gives_no_refusal(tmp_path, wire_pki, version):
    """Also TLS 1.2, whose "Server Hello Done" once passed for a ServerHello and blanked the version (so nothing on
    the wire was judged); the DUT closing after its answer is no refusal."""
    from sipqual.tlsfindings import refusal_hint
    from tlswire import options_pair, tls_capture

    ms, dut = _sides(wire_pki)
    w = tls_capture(tmp_path, ms, dut, version=version, messages=options_pair(ms.ip, dut.ip), close="server")
    assert w.server_error is None and w.client_error is None
    found = wire_findings(read_tls_facts(w.pcap, w.keylog, [5061]), DUT, "sbc.lab.example", decrypted=True,
                          hint=refusal_hint(None, None))
    assert [(f.rule, f.ok) for f in found] == [("TLS-01", True), ("TLS-03", True)]


def test_client_certificate_is_demanded_only_by_the_lync_profile():
    dut_as_client = conn([dict(CERT, subject="CN=mspool")], [], server="192.0.2.10:5067", client="192.0.2.1:40000")
    assert wire_findings([dut_as_client], DUT, None, client_cert=False) == []
    (bad,) = wire_findings([dut_as_client], DUT, None, client_cert=True)
    assert bad.rule == "TLS-01" and not bad.ok and "Lync profile" in bad.message
    (good,) = wire_findings([conn([CERT], [dict(CERT, subject="CN=mspool")])], DUT, None, client_cert=False)
    assert good.ok and "Lync profile" not in good.message     # the DUT as server: a TLS demand, not a profile one


def test_edge_events_of_a_refusal_fail_tls02():
    """The edge's own record: TLS 1.3 (handshake_ok, then the DUT's alert), TLS 1.2 / DUT as client (the handshake
    fails with the DUT's alert), and the DUT closing right after our certificate without a byte."""
    from sipqual.tlsfindings import tls_findings

    listening = {"event": "listening", "pid": 7, "mode": "client", "own_cert_issuer": "CN=Lab Test CA",
                 "own_cert_san": ["DNS:mspool.lab.example", "IP:192.0.2.10"]}
    ok = {"event": "handshake_ok", "pid": 7, "mode": "client", "conn": 1, "version": "TLSv1.3", "cipher": "X",
          "peer_cert_subject": "CN=sbc.lab.example", "peer_cert_san": ["DNS:sbc.lab.example"]}
    alert = {"event": "closed", "pid": 7, "mode": "client", "conn": 1, "reason": "tls_error",
             "ssl_reason": "TLSV1_ALERT_UNKNOWN_CA", "error": "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca",
             "bytes_tls_to_plain": 0}
    found = tls_findings([listening, ok, alert])
    assert [(f.rule, f.ok) for f in found] == [("TLS-01", True), ("TLS-02", False)]
    assert "unknown_ca" in found[1].message
    assert "does the device trust CN=Lab Test CA and accept DNS:mspool.lab.example, IP:192.0.2.10?" in found[1].message
    silent = dict(alert, reason="tls_eof", ssl_reason=None, error="peer closed TCP without TLS close_notify")
    assert [(f.rule, f.ok) for f in tls_findings([listening, ok, silent])] == [("TLS-01", True), ("TLS-02", False)]
    answered = dict(silent, bytes_tls_to_plain=420)                     # it answered first: no refusal
    assert [(f.rule, f.ok) for f in tls_findings([listening, ok, answered])] == [("TLS-01", True)]
    failed = {"event": "handshake_failed", "pid": 8, "mode": "server", "conn": 1,
              "ssl_reason": "SSLV3_ALERT_BAD_CERTIFICATE", "error": "sslv3 alert bad certificate"}
    (f,) = tls_findings([failed])
    assert (f.rule, f.ok, f.severity) == ("TLS-02", False, "M") and "DUT as TLS client" in f.message
    no_client_cert = dict(failed, ssl_reason="PEER_DID_NOT_RETURN_A_CERTIFICATE", error="peer did not return")
    assert tls_findings([no_client_cert], client_cert=False) == []
    assert "Lync profile" in tls_findings([no_client_cert])[0].message


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_dut_closing_right_after_our_certificate_is_a_refusal(tmp_path, wire_pki, version):
    from sipqual.tlsfindings import refusal_hint
    from tlswire import options_pair, tls_capture

    ms, dut = _sides(wire_pki, "rogue-mediation")
    w = tls_capture(tmp_path, ms, dut, version=version, messages=options_pair(ms.ip, dut.ip), silent=True)
    conns = read_tls_facts(w.pcap, w.keylog, [5061])
    assert [c.alerts for c in conns] == [[]]                        # no alert: it just closed
    bad = [f for f in wire_findings(conns, DUT, "sbc.lab.example", decrypted=True, hint=refusal_hint(None, None))
           if not f.ok]
    assert [(f.rule, f.severity) for f in bad] == [("TLS-02", "M")]
    assert "closed the connection right after our certificate without sending a byte" in bad[0].message
    assert bad[0].frames == [conns[0].silent_closes[0][0]]
