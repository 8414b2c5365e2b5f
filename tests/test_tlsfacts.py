"""TLS facts from captures (pyshark) and the TLS-01/TLS-03 judgement of the handshakes on the wire."""

import asyncio
import os
from pathlib import Path

import pytest

from sipqual.tlsfacts import TlsConnection, read_tls_facts
from sipqual.tlsfindings import wire_findings

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"
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
