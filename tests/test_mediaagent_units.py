"""The media agent's parts without sockets (sender timing, RFC 4733 long press, G.711, Goertzel, SDP-derived
configuration) and as processes (start, re-key and re-target while running, stop with a report, a stuck agent)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from sipqual.errors import AgentError
from sipqual.mediaagent import AgentConfig, MediaAgent, SdesKey, StreamConfig, from_sdp
from sipqual.mediaagent import audio
from sipqual.mediaagent.sender import Sender
from sipqual.procs import Supervisor
from sipqual.sdp import parse_sdp

from test_mediaagent import free_pair


def header(pkt: bytes) -> tuple[bool, int, int, int]:
    return bool(pkt[1] & 0x80), pkt[1] & 0x7F, int.from_bytes(pkt[2:4], "big"), int.from_bytes(pkt[4:8], "big")


def test_sender_timestamps_sequence_and_markers():
    cfg = StreamConfig(seq0=100, ts0=1000, plan=[{"kind": "audio", "seconds": 0.06}, {"kind": "pause", "seconds": 0.04},
                                                 {"kind": "audio", "seconds": 0.04}])
    s = Sender(cfg)
    out = [s.tick(k) for k in range(7)]
    sent = [header(p) for p in out if p is not None]
    assert out[3] is None and out[4] is None
    assert [h[2] for h in sent] == [100, 101, 102, 103, 104]                 # no sequence gap over the pause
    assert [h[3] for h in sent] == [1000, 1160, 1320, 1800, 1960]            # the clock ran on
    assert [h[0] for h in sent] == [True, False, False, True, False]         # talkspurt starts marked
    assert all(len(p) == 12 + 160 for p in out if p is not None)


def test_long_press_splits_the_event_into_segments():
    cfg = StreamConfig(plan=[{"kind": "digits", "digits": "0", "ms": 9000, "gap_ms": 0}], after="pause")
    s = Sender(cfg)
    pkts = [p for p in (s.tick(k) for k in range(460)) if p is not None]
    events = [(header(p), p[12:16]) for p in pkts]
    ts = sorted({h[3] for h, _ in events})
    assert len(ts) == 2 and s.counts.events[0]["segments"] == 2              # 9 s > 65535 samples: two segments
    assert max(int.from_bytes(b[2:4], "big") for _, b in events) <= 0xFFFF
    ends = [b for _, b in events if b[1] & 0x80]
    assert len(ends) == 3 and len({bytes(b) for b in ends}) == 1             # three identical end packets
    assert sum(h[0] for h, _ in events) == 1                                 # marker only on the first packet


def test_g711_tables():
    assert audio.ULAW_DECODE[0xFF] == 0 and audio.ULAW_DECODE[0x00] == -32124
    assert audio.ALAW_DECODE[0xD5] == 8 and audio.ALAW_DECODE[0x55] == -8
    for pt in (0, 8):
        for s in (0, 300, -300, 4000, -20000):
            assert abs(audio.decode(audio.encode([s], pt), pt)[0] - s) <= max(16, abs(s) // 16)


def test_goertzel_finds_digits_not_the_test_tone():
    for pt in (0, 8):
        src, det = audio.FrameSource(pt, 160), audio.DtmfDetector()
        for k in range(30):
            det.feed(audio.decode(src.audio(k), pt), k)
        for d in "0123456789*#ABCD":
            for k in range(3):
                det.feed(audio.decode(src.dtmf(d, k), pt), 0)
            det.feed(audio.decode(src.silence(), pt), 0)
        assert det.text == "0123456789*#ABCD"


OFFER = """v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r
m=audio 40000 RTP/SAVP 8 0 101 13\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:4\r
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"""
ANSWER = """v=0\r\no=- 2 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r
m=audio 50000 RTP/SAVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=ptime:20\r
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"""


def test_config_from_offer_and_answer():
    offer, answer = parse_sdp(OFFER).audio, parse_sdp(ANSWER).audio
    cfg = from_sdp(offer, answer, bind="192.0.2.1", port=40000)
    assert (cfg.peer, cfg.peer_port, cfg.pt, cfg.te_pt, cfg.te_pt_rx) == ("192.0.2.9", 50000, 0, 96, [101])
    assert cfg.send_key["suite"] == "AES_CM_128_HMAC_SHA1_32" and cfg.send_key["tag"] == 2   # the accepted tag
    assert cfg.recv_keys[0]["key"].startswith("PS1u")
    mki = SdesKey.from_crypto(offer.crypto[0])
    assert (mki.mki, mki.mki_len) == (1, 4) and "|1:4" in mki.attribute()
    early = from_sdp(offer, None, bind="192.0.2.1", port=40000)
    assert early.peer == "" and early.send_key is None


@pytest.fixture
def sup(tmp_path):
    s = Supervisor(tmp_path / "state")
    yield s
    s.stop_all(grace=1.0)


def start_pair(sup, tmp_path, a_kw: dict, b_kw: dict, seconds: float = 15):
    pa, pb = free_pair(), free_pair()
    a = StreamConfig(name="a", port=pa, peer="127.0.0.1", peer_port=pb, rtcp_interval=0.4, **a_kw)
    b = StreamConfig(name="b", port=pb, peer="127.0.0.1", peer_port=pa, rtcp_interval=0.4, **b_kw)
    return (MediaAgent.start(sup, tmp_path / "a", AgentConfig([a], seconds), name="a"),
            MediaAgent.start(sup, tmp_path / "b", AgentConfig([b], seconds), name="b"))


def test_agent_processes_rekey_mid_stream(sup, tmp_path):
    k1, k2 = SdesKey.make(mki=1, mki_len=1), SdesKey.make(mki=2, mki_len=1)
    kb = SdesKey.make()
    a, b = start_pair(sup, tmp_path, {"send_key": k1.as_dict(), "recv_keys": [kb.as_dict()]},
                      {"send_key": kb.as_dict(), "recv_keys": [k1.as_dict()]})
    time.sleep(0.5)
    b.update("b", recv_keys=[k2.as_dict(), k1.as_dict()])     # the re-INVITE's new key, the old one still valid
    a.update("a", send_key=k2.as_dict())
    time.sleep(0.5)
    ra, rb = a.stop(), b.stop()
    got = rb["streams"][0]["received"]
    assert got["srtp"]["rtp"]["ok"] >= 40 and got["srtp"]["rtp"]["auth"] == 0
    assert got["srtp"]["rtp"]["unknown_mki"] == 0 and len(got["srtp"]["keys"]) == 2
    assert rb["streams"][0]["updates"][0]["fields"] == ["recv_keys"]
    assert (tmp_path / "b" / "report.json").exists() and ra["stop_reason"] == "stopped"


def test_agent_follows_a_moved_peer(sup, tmp_path):
    a, b = start_pair(sup, tmp_path, {}, {})
    pc = free_pair()
    c = MediaAgent.start(sup, tmp_path / "c", AgentConfig([StreamConfig(name="c", port=pc)], 15), name="c")
    time.sleep(0.3)
    a.update(peer="127.0.0.1", peer_port=pc)
    time.sleep(0.4)
    ra, rb, rc = a.stop(), b.stop(), c.stop()
    at_b, at_c = rb["streams"][0]["received"]["streams"][0], rc["streams"][0]["received"]["streams"][0]
    assert at_c["packets"] >= 10 and at_c["ssrc"] == ra["streams"][0]["ssrc"]
    # nothing to the old address after the move: in sending order (RTP sequence numbers, modulo 2^16), every packet
    # the new address got comes after every packet the old one got (receive times jitter on a loaded machine)
    assert 1 <= (at_c["first_seq"] - at_b["max_seq"]) & 0xFFFF <= 1000, (at_b, at_c)


def test_bad_update_is_refused(sup, tmp_path):
    a, _b = start_pair(sup, tmp_path, {}, {})
    with pytest.raises(AgentError, match="cannot update"):
        a.update(ssrc=5)


def test_stuck_agent_is_killed_and_is_an_error(sup, tmp_path):
    a, _b = start_pair(sup, tmp_path, {}, {})
    os.kill(a.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    with pytest.raises(AgentError, match="did not stop"):
        a.stop(timeout=0.5)
    assert not a.proc.alive() and time.monotonic() - t0 < 5


def test_agent_stops_itself_after_max_seconds(sup, tmp_path):
    a, _b = start_pair(sup, tmp_path, {}, {}, seconds=0.5)
    a.proc.wait(timeout=5)
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["stop_reason"] == "max_seconds" and a.stop()["seconds"] >= 0.5
