"""The lab's DNS (unbound, configured by sipqual.labdns) and the pool plan (sipqual.pool), without a lab: a real
unbound on loopback answering what a DUT's resolver gets (A records in order, SRV, NODATA, NXDOMAIN) and logging it,
the probe's exit codes, and the pool picture only for profiles claiming DNS load balancing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sipqual import labdns, pool
from sipqual.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
RECORDS = [{"name": "mspool.lab.example", "type": "A", "value": "192.0.2.10"},
           {"name": "mspool.lab.example.", "type": "A", "value": "192.0.2.11"},
           {"name": "ms2.lab.example", "type": "A", "value": "192.0.2.11"},
           {"name": "_sip._tcp.mspool.lab.example", "type": "SRV", "priority": 0, "weight": 10, "port": 5068,
            "target": "ms1.lab.example"}]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unbound(tmp_path):
    """The lab's DNS configuration served by a real unbound on loopback (a free port), stopped by its PID."""
    port = _free_udp_port()
    conf = tmp_path / "unbound.conf"
    conf.write_text(labdns.unbound_conf(RECORDS, "127.0.0.1", tmp_path, "lab.example", ttl=7, port=port))
    proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):   # readiness by probing: a query answered
            try:
                labdns.query("127.0.0.1", "ms2.lab.example", port=port, timeout=0.1)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
        yield port, tmp_path / "queries.log"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_configuration_is_what_unbound_accepts(tmp_path):
    conf = tmp_path / "u.conf"
    conf.write_text(labdns.unbound_conf(RECORDS, "192.0.2.53", tmp_path, "lab.example"))
    cp = subprocess.run(["unbound-checkconf", str(conf)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    text = conf.read_text()
    assert "rrset-roundrobin: no" in text and 'local-zone: "lab.example." static' in text
    assert 'local-data: "_sip._tcp.mspool.lab.example. 5 IN SRV 0 10 5068 ms1.lab.example."' in text


def test_pool_name_gets_every_a_record_in_order_authoritatively_and_queries_are_logged(unbound):
    port, log = unbound
    for _ in range(3):   # no rotation: the DUT always sees ms1 first
        resp = labdns.query("127.0.0.1", "mspool.lab.example", port=port, timeout=2)
        assert resp["rcode"] == labdns.NOERROR and resp["aa"]
        assert [a["value"] for a in resp["answers"]] == ["192.0.2.10", "192.0.2.11"]
        assert {a["ttl"] for a in resp["answers"]} == {7}
    srv = labdns.query("127.0.0.1", "_SIP._tcp.mspool.lab.example", "SRV", port=port, timeout=2)
    assert srv["answers"][0]["value"] == {"priority": 0, "weight": 10, "port": 5068, "target": "ms1.lab.example"}
    assert labdns.query("127.0.0.1", "mspool.lab.example", "AAAA", port=port, timeout=2)["answers"] == []
    assert labdns.query("127.0.0.1", "vm.lab.example", port=port, timeout=2)["rcode"] == labdns.NXDOMAIN
    assert "mspool.lab.example. A IN" in log.read_text()


def test_probe_command_exit_codes(unbound):
    port, _ = unbound
    ok = subprocess.run([sys.executable, "-m", "sipqual.labdns", "query", "127.0.0.1", "mspool.lab.example",
                         "--port", str(port)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and [a["value"] for a in json.loads(ok.stdout)["answers"]] == ["192.0.2.10",
                                                                                             "192.0.2.11"]
    none = subprocess.run([sys.executable, "-m", "sipqual.labdns", "query", "127.0.0.1", "vm.lab.example",
                           "--port", str(port)], capture_output=True, text=True, cwd=ROOT)
    assert none.returncode == 1


def test_compressed_names_are_followed_and_loops_refused():
    data = b"\x00" * 12 + labdns.encode_name("lab.example") + b"\x02ms\xc0\x0c"
    name, end = labdns.decode_name(data, 12 + len(labdns.encode_name("lab.example")))
    assert name == "ms.lab.example" and end == len(data)
    with pytest.raises(labdns.DnsError):
        labdns.decode_name(b"\xc0\x00", 0)


def test_bad_records_are_refused():
    with pytest.raises(labdns.DnsError):
        labdns.check_records([{"name": "x.example", "type": "A", "value": "2001:db8::1"}])
    with pytest.raises(labdns.DnsError):
        labdns.check_records([{"name": "x.example", "type": "MX", "value": "y"}])
    with pytest.raises(labdns.DnsError):
        labdns.check_records([{"name": "_sip._tcp.x.example", "type": "SRV", "port": 5060, "target": "y"}])
    with pytest.raises(ValueError):
        labdns.check_records([{"name": "x.example", "type": "A", "value": "nope"}])


def test_pool_only_for_profiles_claiming_dns_load_balancing():
    assert pool.plan(load_profile(ROOT / "lab/duts/reference-sbc.yaml"), "192.0.2.10") is None
    p = pool.plan(load_profile(ROOT / "lab/duts/reference-sbc-pool.yaml"), "192.0.2.10")
    assert p.fqdn == "mspool.lab.example" and p.dns_ip == "192.0.2.53"
    assert [(m.name, m.fqdn, m.ip) for m in p.members] == [("ms1", "ms1.lab.example", "192.0.2.10"),
                                                          ("ms2", "ms2.lab.example", "192.0.2.11")]
    assert p.member(2).ip == "192.0.2.11"
    assert [r["value"] for r in p.zone()["records"] if r["name"] == "mspool.lab.example"] == ["192.0.2.10",
                                                                                              "192.0.2.11"]
    assert pool.member_fqdn("ms1.lab.example", 3) == "ms3.lab.example"
    assert pool.member_fqdn("mediation.corp.example", 2) == "mediation2.corp.example"


def test_resolv_conf_names_only_the_lab_server(tmp_path):
    path = pool.write_resolv("sqabc-dut", "192.0.2.53", tmp_path)
    assert path == tmp_path / "sqabc-dut" / "resolv.conf"
    assert [ln for ln in path.read_text().splitlines() if ln.startswith("nameserver")] == ["nameserver 192.0.2.53"]
