"""The media agent on loopback: two streams of one agent loop talk to each other (fast, in-process), plain and
SRTP (both suites, with and without MKI), with events, comfort noise, in-band tones and RTCP; a wrong key and an
unknown MKI are counted, never fatal; the sequence number wraps with SRTP (rollover counter)."""

from __future__ import annotations

import itertools
import socket

import pytest

from sipqual.mediaagent import AgentConfig, SdesKey, StreamConfig
from sipqual.mediaagent.agent import AgentLoop

_ports = itertools.count(0)


def free_pair() -> int:
    """An even port whose successor is free too (RTP + RTCP), found by binding, never guessed."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1] & ~1
        s.close()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            if port >= 1024:
                return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def pair(a_kw: dict | None = None, b_kw: dict | None = None) -> tuple[StreamConfig, StreamConfig]:
    pa, pb = free_pair(), free_pair()
    while pb == pa:
        pb = free_pair()
    common = {"rtcp_interval": 0.4, "plan": [{"kind": "audio", "seconds": 5}]}
    a = StreamConfig(**{**common, "name": "a", "port": pa, "peer": "127.0.0.1", "peer_port": pb, **(a_kw or {})})
    b = StreamConfig(**{**common, "name": "b", "port": pb, "peer": "127.0.0.1", "peer_port": pa, **(b_kw or {})})
    return a, b


def run(a: StreamConfig, b: StreamConfig, seconds: float = 1.0) -> tuple[dict, dict]:
    loop = AgentLoop(AgentConfig([a, b], max_seconds=seconds), workdir=None)
    report = loop.run()
    assert report["stop_reason"] == "max_seconds"
    ra, rb = report["streams"]
    return ra, rb


def only_stream(report: dict) -> dict:
    streams = report["received"]["streams"]
    assert len(streams) == 1, streams
    return streams[0]


def test_plain_rtp_events_cn_tones_and_rtcp_both_ways():
    plan = [{"kind": "audio", "seconds": 0.2}, {"kind": "digits", "digits": "1#", "ms": 100, "gap_ms": 40},
            {"kind": "silence", "seconds": 0.3}, {"kind": "tones", "digits": "7", "ms": 100, "gap_ms": 40},
            {"kind": "audio", "seconds": 0.2}]
    a, b = pair({"plan": plan}, {"plan": plan, "pt": 8})
    ra, rb = run(a, b, 1.6)
    for me, peer, pt in ((rb, ra, 0), (ra, rb, 8)):
        got = only_stream(me)
        assert got["ssrc"] == peer["ssrc"]
        assert got["packets"] == peer["sent"]["rtp"] and got["lost"] == 0 and got["duplicates"] == 0
        assert got["jitter_ms"] < 20
        assert got["ts_steps"][str(pt)].get("160/160", 0) >= 10        # +160 per 20 ms at 8 kHz
        assert got["event_digits"] == "1#" and got["inband_digits"] == "7"
        for ev in got["events"]:
            assert ev["end_packets"] == 3 and ev["marker"] and ev["duration"] == 800
            assert ev["duration_regressions"] == 0 and not ev["end_cleared"]
        assert got["cn_packets"] >= 1 and got["payload_types"]["13"] == got["cn_packets"]
        assert peer["sent"]["events"][0]["digit"] == "1"
        rtcp = me["received"]["rtcp"]
        assert len(rtcp) == 1 and rtcp[0]["compounds"] >= 2 and rtcp[0]["bad_start"] is None
        assert rtcp[0]["types"]["200"] >= 1 and rtcp[0]["types"]["203"] == 1        # SR ... and BYE on stop
        assert rtcp[0]["cnames"] == [peer_cname(peer)] and rtcp[0]["no_cname"] is None


def peer_cname(report: dict) -> str:
    return f"sipqual-{report['name']}-{report['ssrc']:08x}@127.0.0.1"


def test_rtcp_withheld_sends_none_but_reads_the_peers():
    a, b = pair({"rtcp": False})
    ra, rb = run(a, b, 0.8)
    assert ra["sent"]["rtcp"] == 0 and rb["received"]["rtcp"] == []
    assert ra["received"]["rtcp"] and only_stream(rb)["packets"] > 20


SUITES = [("AES_CM_128_HMAC_SHA1_80", 0), ("AES_CM_128_HMAC_SHA1_32", 0), ("AES_CM_128_HMAC_SHA1_80", 4),
          ("AES_CM_128_HMAC_SHA1_32", 2)]


@pytest.mark.parametrize("suite,mki_len", SUITES, ids=[f"{s[-2:]}-mki{m}" for s, m in SUITES])
def test_srtp_both_ways_decrypts_and_authenticates(suite, mki_len):
    ka = SdesKey.make(suite, mki=1 if mki_len else 0, mki_len=mki_len).as_dict()
    kb = SdesKey.make(suite, mki=7 if mki_len else 0, mki_len=mki_len).as_dict()
    plan = [{"kind": "audio", "seconds": 0.2}, {"kind": "digits", "digits": "5", "ms": 60}]
    a, b = pair({"send_key": ka, "recv_keys": [kb], "plan": plan}, {"send_key": kb, "recv_keys": [ka]})
    ra, rb = run(a, b, 0.9)
    for me, peer in ((rb, ra), (ra, rb)):
        srtp = me["received"]["srtp"]
        assert srtp["rtp"]["ok"] == peer["sent"]["rtp"] and srtp["rtp"]["ok"] > 20
        assert srtp["rtcp"]["ok"] == peer["sent"]["rtcp"] >= 2
        assert sum(v for k, v in srtp["rtp"].items() if k not in ("ok", "first_error")) == 0
        assert only_stream(me)["lost"] == 0 and me["received"]["rtcp"][0]["cnames"]
    assert only_stream(rb)["event_digits"] == "5"


def test_wrong_key_is_counted_as_authentication_failures_not_fatal():
    good, other = SdesKey.make().as_dict(), SdesKey.make().as_dict()
    a, b = pair({"send_key": good}, {"recv_keys": [other]})
    ra, rb = run(a, b, 0.6)
    srtp = rb["received"]["srtp"]
    assert srtp["rtp"]["ok"] == 0 and srtp["rtp"]["auth"] == ra["sent"]["rtp"] > 10
    assert srtp["rtcp"]["auth"] >= 1 and srtp["rtp"]["first_error"] == "authentication failure"
    assert rb["received"]["streams"] == []          # nothing unauthenticated reaches the stream statistics


def test_cleartext_rtp_where_srtp_was_negotiated_fails_authentication():
    a, b = pair({}, {"recv_keys": [SdesKey.make().as_dict()]})
    ra, rb = run(a, b, 0.5)
    assert rb["received"]["srtp"]["rtp"]["auth"] + rb["received"]["srtp"]["rtp"]["short"] == ra["sent"]["rtp"]


def test_unknown_mki_is_counted():
    k = SdesKey.make(mki=1, mki_len=4)
    other = SdesKey(k.suite, k.key, 2, 4)
    a, b = pair({"send_key": k.as_dict()}, {"recv_keys": [other.as_dict()]})
    ra, rb = run(a, b, 0.5)
    assert rb["received"]["srtp"]["rtp"]["unknown_mki"] == ra["sent"]["rtp"] > 5


def test_rollover_counter_across_65535_with_srtp():
    ka, kb = SdesKey.make().as_dict(), SdesKey.make().as_dict()
    a, b = pair({"send_key": ka, "recv_keys": [kb], "seq0": 65510}, {"send_key": kb, "recv_keys": [ka]})
    ra, rb = run(a, b, 1.0)
    got = only_stream(rb)
    assert ra["sent"]["last_seq"] < 100 and got["cycles"] == 1            # the sequence wrapped to 0 ...
    assert rb["received"]["srtp"]["rtp"]["ok"] == ra["sent"]["rtp"] and got["lost"] == 0   # ... and ROC followed


def test_telephone_event_on_an_unexpected_payload_type_is_not_an_event():
    plan = [{"kind": "digits", "digits": "3", "ms": 60}]
    a, b = pair({"te_pt": 96, "plan": plan}, {"te_pt_rx": [101]})
    _ra, rb = run(a, b, 0.6)
    got = only_stream(rb)
    assert got["event_digits"] == "" and got["payload_types"].get("96", 0) == 6
    a, b = pair({"te_pt": 96, "plan": plan}, {"te_pt_rx": [96]})
    _ra, rb = run(a, b, 0.6)
    assert only_stream(rb)["event_digits"] == "3"


def test_latching_sends_to_where_the_peer_is():
    a, b = pair({"latch": True}, {})
    a.peer_port = b.port + 100                      # a stale SDP address: latching corrects it
    ra, rb = run(a, b, 0.6)
    assert only_stream(rb)["packets"] > 5


def test_sending_from_another_port_and_reading_both():
    a, b = pair({}, {"latch": True})
    a.send_port = free_pair()
    ra, rb = run(a, b, 0.6)
    got = only_stream(rb)
    assert got["sport"] == a.send_port and got["packets"] > 10          # b sees a's RTP from the "NAT" port ...
    back = {x["dport"]: x for x in ra["received"]["streams"]}          # b sent to a's SDP port until it latched
    # ... and sent there only after all it sent to the SDP port (sending order: sequence numbers, modulo 2^16)
    assert back[a.send_port]["packets"] > 10
    assert 1 <= (back[a.send_port]["first_seq"] - back[a.port]["max_seq"]) & 0xFFFF <= 1000, back
