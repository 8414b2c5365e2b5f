"""The lab's DNS server (sipqual.labdns) and the pool plan (sipqual.pool), without a lab: the answers a DUT's
resolver gets (A records in zone order, SRV, NODATA, NXDOMAIN, FORMERR, compressed names), the server on loopback
answering real queries and logging them, and the pool picture only for profiles claiming DNS load balancing."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from sipqual import labdns, pool
from sipqual.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
ZONE = labdns.Zone([{"name": "mspool.lab.example", "type": "A", "value": "192.0.2.10"},
                    {"name": "MSPool.lab.example.", "type": "A", "value": "192.0.2.11"},
                    {"name": "_sip._tcp.mspool.lab.example", "type": "SRV", "priority": 0, "weight": 10,
                     "port": 5068, "target": "ms1.lab.example"}], ttl=7)


def _ask(name, qtype="A", qid=4660):
    resp, log = ZONE.answer(labdns.build_query(name, qtype, qid))
    return labdns.parse_response(resp), log


def test_pool_name_gets_every_a_record_in_zone_order_authoritatively():
    resp, log = _ask("mspool.lab.example")
    assert resp["id"] == 4660 and resp["rcode"] == labdns.NOERROR and resp["aa"]
    assert [a["value"] for a in resp["answers"]] == ["192.0.2.10", "192.0.2.11"]
    assert {a["ttl"] for a in resp["answers"]} == {7} and log["answers"] == ["192.0.2.10", "192.0.2.11"]


def test_srv_record_and_case_insensitive_names():
    resp, _ = _ask("_SIP._tcp.mspool.lab.example", "SRV")
    assert resp["answers"][0]["value"] == {"priority": 0, "weight": 10, "port": 5068, "target": "ms1.lab.example"}


def test_known_name_without_that_type_is_nodata_and_unknown_name_nxdomain():
    resp, _ = _ask("mspool.lab.example", "AAAA")
    assert resp["rcode"] == labdns.NOERROR and resp["answers"] == []
    resp, log = _ask("vm")
    assert resp["rcode"] == labdns.NXDOMAIN and log["rcode"] == labdns.NXDOMAIN


def test_malformed_queries_get_formerr_or_nothing():
    q = labdns.build_query("mspool.lab.example")
    resp, log = ZONE.answer(q[:4] + struct.pack("!H", 2) + q[6:])        # two questions claimed
    assert labdns.parse_response(resp + b"")["rcode"] == labdns.FORMERR and "questions" in log["error"]
    assert ZONE.answer(b"\x00" * 5)[0] is None                            # too short: no answer
    resp_bit = q[:2] + struct.pack("!H", 0x8100) + q[4:]
    assert ZONE.answer(resp_bit)[0] is None                               # a response, not a query


def test_compressed_names_are_followed_and_loops_refused():
    data = b"\x00" * 12 + labdns.encode_name("lab.example") + b"\x02ms\xc0\x0c"
    name, end = labdns.decode_name(data, 12 + len(labdns.encode_name("lab.example")))
    assert name == "ms.lab.example" and end == len(data)
    with pytest.raises(labdns.DnsError):
        labdns.decode_name(b"\xc0\x00", 0)


def test_bad_zones_are_refused():
    with pytest.raises(labdns.DnsError):
        labdns.Zone([{"name": "x.example", "type": "A", "value": "2001:db8::1"}])
    with pytest.raises(labdns.DnsError):
        labdns.Zone([{"name": "x.example", "type": "MX", "value": "y"}])
    with pytest.raises(labdns.DnsError):
        labdns.Zone([{"name": "_sip._tcp.x.example", "type": "SRV", "port": 5060, "target": "y"}])


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_answers_real_queries_on_loopback_and_logs_them(tmp_path):
    zone = tmp_path / "zone.json"
    zone.write_text(json.dumps(pool.plan(load_profile(ROOT / "lab/duts/reference-sbc-pool.yaml"),
                                         "192.0.2.10").zone()))
    port, log = _free_udp_port(), tmp_path / "q.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "sipqual.labdns", "--zone", str(zone), "--listen", "127.0.0.1",
                             "--port", str(port), "--log", str(log), "--max-seconds", "20"],
                            stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert json.loads(proc.stdout.readline())["event"] == "listening"
        resp = labdns.query("127.0.0.1", "mspool.lab.example", port=port, timeout=2)
        assert [a["value"] for a in resp["answers"]] == ["192.0.2.10", "192.0.2.11"]
        assert labdns.query("127.0.0.1", "ms2.lab.example", port=port, timeout=2)["answers"][0]["value"] == \
            "192.0.2.11"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(x["name"], x["client"]) for x in lines] == [("mspool.lab.example", "127.0.0.1"),
                                                         ("ms2.lab.example", "127.0.0.1")]


def test_bad_zone_file_exits_2(tmp_path):
    bad = tmp_path / "zone.json"
    bad.write_text('{"records": [{"name": "x", "type": "A", "value": "nope"}]}')
    assert labdns.main(["--zone", str(bad), "--listen", "127.0.0.1", "--port", "0"]) == 2


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
