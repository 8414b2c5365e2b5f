"""Every media rule (sipqual.rules.media), read through the real capture reader from crafted captures
(tests/fixtures/media, made by make_fixtures.py): it holds on a good capture that exercises it, and on the failing
capture made for it, it reports the faulty frame, with no other media rule broken (the fault is exactly what the rule
judges)."""

import importlib.util
from functools import lru_cache
from pathlib import Path

import pytest

from sipqual.rules.media import MEDIA_RULES, evaluate_media
from sipqual.trace import read_trace
from sipqual.verdict import SEVERITIES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "media"
DUT = "192.0.2.1"

#: rule -> (the good capture that exercises it, the failing capture's frame of the violation)
CASES = {
    "RFC3550-01": ("good-call", 11),     # two sequence numbers skipped
    "RFC3550-02": ("good-call", 26),     # a new SSRC with no SDP exchanged
    "RFC3550-03": ("good-call", 14),     # RTCP compound starting with SDES
    "RFC3550-04": ("good-call", 81),     # 32 s without RTCP during a 36 s stream
    "RFC3550-05": ("good-call", 44),     # no RTCP BYE after the stream's last packet (the capture goes on 36 s)
    "RFC3551-01": ("good-call", 4),      # PCMU timestamps +320 per 160-byte packet (16 kHz); first such step
    "RFC3389-01": ("good-call", 42),     # comfort noise whose first byte (the level) has the top bit set
    "RFC4733-02": ("good-call", 19),     # event code 20 where 0-15 was negotiated
    "RFC4733-03": ("good-call", 19),     # first event packet without the marker
    "RFC4733-04": ("good-call", 23),     # one end packet instead of three
    "RFC4733-06": ("good-call", 19),     # events on the DUT's own PT 96 where the peer's SDP says 101
    "RFC3711-01": ("good-srtp", 3),      # RTP/SAVP negotiated, cleartext G.711 sent
    "RFC3711-02": ("good-srtp", 14),     # RTP/SAVP negotiated, plain RTCP sent (no SRTCP trailer)
    "RFC3264-06": ("good-hold", 17),     # RTP sent while the peer's re-INVITE said a=sendonly
}

#: further faults built on the fly by make_fixtures.VARIANTS: name -> (rule, frame of the violation)
VARIANT_CASES = {
    "RFC3389-01-unlisted": ("RFC3389-01", 42),   # CN sent, PT 13 not on the peer's m= line
    "RFC3264-06-rtcp": ("RFC3264-06", 30),       # no RTCP during a 22 s hold (frame: the next compound)
    "RFC3264-06-own": ("RFC3264-06", 17),        # the DUT's own answer said inactive, it sent anyway
    "RFC3711-02-index": ("RFC3711-02", 45),      # SRTCP index 3 after 1
    "RFC3551-01-relay": ("RFC3551-01", 8),       # our agent's steps +160, the DUT relays them as +320
    "RFC3550-01-relay": ("RFC3550-01", 28),      # our agent sends every packet, the DUT skips 2
}

#: captures where no media rule may blame the DUT: name -> (rule, words its held outcome must say), ...
NOT_THE_DUT = {
    "good-burst": ("RFC3551-01", "+160 per 160-byte payload in 59 of 59 steps"),     # span/span read 8906/s
    "good-relay-ours": ("RFC3551-01", "which our side sent the DUT on its other leg (frame 7): relayed from our side",
                        "RFC3550-01", "(2 lost, 0 restart(s), 0 duplicate(s)): relayed from our side, not the DUT's"),
    "good-demux": ("RFC3550-01", "3 STUN, 1 ZRTP, 2 DTLS, 1 TURN demultiplexed (RFC 7983)"),
    "good-ptime30": ("RFC3550-01", "20 ms packets (+160), a=ptime:30 in the receiver's SDP is a hint"),
    "good-ptime30-srtp": ("RFC3711-01", "170 bytes (160 of G.711)"),
    "good-retarget": ("RFC3550-01", "sequence 1015..1029 went to 192.0.2.11:17000 meanwhile (frames 20-35), not lost"),
}


def make_fixtures():
    spec = importlib.util.spec_from_file_location("make_media_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def findings(name: str, directory: Path = FIXTURES) -> tuple:
    trace = read_trace(directory / f"{name}.pcapng")
    assert trace.sip and trace.rtp and not trace.findings, f"{name}: reader problems {trace.findings}"
    return tuple(evaluate_media(trace, {DUT}))


def test_every_media_rule_has_fixtures_and_a_sound_declaration():
    assert set(CASES) == set(MEDIA_RULES)
    for r in MEDIA_RULES.values():
        assert r.severity in SEVERITIES and r.requirements[0] == r.id and r.description


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_holds_on_its_good_capture(rule):
    good = findings(CASES[rule][0])
    assert not [f.message for f in good if not f.ok]
    assert any(f.ok and f.rule == rule for f in good), f"{rule} was not exercised by {CASES[rule][0]}"


def assert_only(bad: list, rule: str, frame: int) -> None:
    assert {f.rule for f in bad} == {rule}, [f.message for f in bad]
    assert any(frame in f.frames for f in bad), [f.message for f in bad]
    for f in bad:
        assert f.message.startswith(f"{rule}: expected ") and ", observed " in f.message
        assert f.message.endswith(f"(frame {', '.join(map(str, f.frames))})")


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_on_its_failing_capture_at_the_right_frame(rule):
    assert_only([f for f in findings(f"fail-{rule}") if not f.ok], rule, CASES[rule][1])


@pytest.mark.parametrize("variant", sorted(VARIANT_CASES))
def test_further_faults_are_caught_by_their_rule_alone(variant, tmp_path):
    make_fixtures().VARIANTS[variant]().write(tmp_path / f"{variant}.pcapng")
    rule, frame = VARIANT_CASES[variant]
    assert_only([f for f in findings(variant, tmp_path) if not f.ok], rule, frame)


@pytest.mark.parametrize("name", sorted(NOT_THE_DUT))
def test_no_media_rule_blames_the_dut_for_what_it_did_not_do(name):
    """Bursty arrival of exact timestamps, an anomaly our own agent sent and the DUT relayed, STUN/DTLS/ZRTP/TURN on
    the RTP port, 20 ms packets under a=ptime:30, and sequence numbers sent to another address for a while (media
    retargeted by re-INVITE and back): every media rule holds, and the one concerned says why."""
    found = findings(name)
    assert not [f.message for f in found if not f.ok]
    said = NOT_THE_DUT[name]
    for rule, words in zip(said[::2], said[1::2]):
        assert any(f.ok and f.rule == rule and words in f.message for f in found), \
            [f.message for f in found if f.rule == rule]


def test_demultiplexed_packets_are_counted_per_5_tuple_and_kept_out_of_rtp():
    trace = read_trace(FIXTURES / "good-demux.pcapng")
    media = trace.media
    mine, theirs = media.demuxed[(DUT, 30000, "192.0.2.10", 16000)], media.demuxed[("192.0.2.10", 16000, DUT, 30000)]
    assert mine.counts == {"STUN": 3, "DTLS": 2, "ZRTP": 1, "TURN": 1} and theirs.counts == {"STUN": 6}
    assert mine.first_frames["DTLS"] == 6 and media.demux_overflow == 0
    (stream,) = trace.rtp
    assert stream.packets == 40 and stream.payload_types == [0] and not stream.bad_version


def test_fixtures_regenerate_byte_for_byte(tmp_path):
    make_fixtures().main(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in FIXTURES.glob("*.pcapng"))
    for name in made:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name
        assert (tmp_path / name).stat().st_size < 20_000, name


def test_srtcp_bye_is_not_judged_and_plain_bye_is_seen():
    """RFC3550-05 says nothing on SRTCP flows (a BYE would be encrypted), and holds on the plain call's BYE."""
    assert not [f for f in findings("good-srtp") if f.rule == "RFC3550-05"]
    assert [f.frames for f in findings("good-call") if f.rule == "RFC3550-05"] == [[45]]


def test_media_the_dut_did_not_send_is_not_judged():
    assert not list(evaluate_media(read_trace(FIXTURES / "fail-RFC3550-01.pcapng"), {"192.0.2.99"}))


@pytest.mark.parametrize("e_flag, held", [(0, True), (1, False)])
def test_srtcp_trailer_follows_the_crypto_line(e_flag, held):
    """A 4-byte tag (*_32), a 2-byte MKI and UNENCRYPTED_SRTCP: the index sits 10 bytes before the end, E clear."""
    import struct

    from sipqual.rtp import MediaModel
    from sipqual.rules.media import MediaContext
    from sipqual.rules.media_srtp import srtcp_packets
    from sipqual.sdp import parse_sdp
    from sipqual.trace import Trace

    sdp = parse_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
                    "m=audio 16000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 "
                    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:2 UNENCRYPTED_SRTCP\r\n")
    rr = struct.pack(">BBHI", 0x80, 201, 1, 0x1234)
    sdes = struct.pack(">BBHI", 0x81, 202, 2, 0x1234) + b"\x01\x02ab"
    m = MediaModel()
    for i in range(5, 9):
        trailer = struct.pack(">I", e_flag << 31 | i) + b"\x00\x07" + bytes([i]) * 4
        assert m.feed(i, 10.0 + 5 * i, None, DUT, 30001, "192.0.2.10", 16001, rr + sdes + trailer)
    m.apply_sdp([(1, 9.0, sdp)])
    (flow,) = m.rtcp_flows
    (outcome,) = srtcp_packets(flow, MediaContext(Trace(Path("x.pcapng"), media=m), {DUT}))
    assert (outcome.observed is None) == held, outcome
    assert "a 2-byte MKI and a 4-byte tag" in outcome.expected
    assert held or outcome.observed.startswith("E flag 1")


def _long_stream(m, src, sport, dst, dport, ssrc, size, tstep, start=10.0, packets=1000, stall=False):
    """``packets`` G.711 packets of ``size`` bytes every 20 ms, timestamps +``tstep``; with ``stall``, the sender
    stops for 300 ms every 4 s and then catches up in one burst (a loaded SIPp)."""
    import struct

    for i in range(packets):
        when = start + 0.02 * i
        if stall and i % 200 >= 185:
            when = start + 0.02 * (i - i % 200 + 199)          # held back, then sent at once
        m.feed(i + 1 + (0 if src == DUT else 5000), when, None, src, sport, dst, dport,
               struct.pack(">BBHII", 0x80, 0, i & 0xFFFF, 1000 + tstep * i, ssrc) + bytes(size))


@pytest.mark.parametrize("ours, stall, held", [(False, False, False), (True, False, True), (False, True, True)])
def test_clock_arrival_rate_is_a_secondary_signal(ours, stall, held):
    """16 kHz audio sent as PCMU (320-byte payloads every 20 ms, +320 each): every step fits its payload, but the
    median of 5 s arrival windows reads 16000 per second, a wrong sample rate: broken, unless our agent sent the DUT
    the same on the other leg (the DUT relays it). A correct stream from a sender that stalls and catches up holds."""
    from sipqual.rtp import MediaModel
    from sipqual.rules.media import MediaContext, MediaScope, static_payload_types
    from sipqual.trace import Trace

    m = MediaModel()
    size = 160 if stall else 320
    _long_stream(m, DUT, 30000, "192.0.2.10", 16000, 0x1111, size, size, stall=stall)
    if ours:
        _long_stream(m, "192.0.2.20", 26000, DUT, 40000, 0x2222, size, size, start=9.998)
    m.apply_sdp([])
    ctx = MediaContext(Trace(Path("x.pcapng"), media=m), {DUT})
    (stream,) = ctx.units(MediaScope.RTP_STREAM)
    (outcome,) = static_payload_types(stream, ctx)
    assert (outcome.observed is None) == held, outcome
    if not held:
        assert "16000 per second of arrival time (median of" in outcome.observed and "fits its payload" in \
            outcome.observed
    elif ours:
        assert "which our side sent the DUT on its other leg (16000 per second)" in outcome.expected
    else:
        assert "+160 per 160-byte payload" in outcome.expected


@pytest.mark.parametrize("peer_port", [16000, 16010])
def test_the_peers_own_stream_on_the_same_leg_never_excuses_the_dut(peer_port):
    """The far end of the DUT's own leg sending the same wrong steps back (symmetric RTP, or from another port) is
    not "what our side sent the DUT on its other leg": the DUT's +320 steps stay its own fault."""
    from sipqual.rtp import MediaModel
    from sipqual.rules.media import MediaContext, MediaScope, static_payload_types
    from sipqual.trace import Trace

    m = MediaModel()
    _long_stream(m, DUT, 30000, "192.0.2.10", 16000, 0x1111, 160, 320, packets=40)
    _long_stream(m, "192.0.2.10", peer_port, DUT, 30000, 0x2222, 160, 320, packets=40, start=9.99)
    m.apply_sdp([])
    ctx = MediaContext(Trace(Path("x.pcapng"), media=m), {DUT})
    (stream,) = ctx.units(MediaScope.RTP_STREAM)
    assert ctx.relay_input(stream) is None
    (outcome,) = static_payload_types(stream, ctx)
    assert outcome.observed.startswith("+320 per 160-byte payload in 39 of 39 steps, a 16000 Hz clock")


def _event_stream(seqs_durations_markers):
    """A stream whose RFC 4733 packets (PT 101, digit 2, one timestamp) arrive in the order given:
    ``(seq, duration, marker, end)`` per packet, frames numbered in arrival order."""
    import struct
    from types import SimpleNamespace

    packets = [(frame, 1.0 + frame * 0.001, seq, 8000, marker, 101,
                struct.pack(">BBH", 2, (0x80 if end else 0) | 10, duration))
               for frame, (seq, duration, marker, end) in enumerate(seqs_durations_markers, start=1)]
    return SimpleNamespace(event_packets=packets)


def test_event_packets_swapped_in_transit_are_judged_in_sequence_order():
    """A relay that swaps two event packets our agent sent back to back (rtpengine under load: 445, 447, 446 on
    the wire) changes nothing a receiver plays: no duration regression, the marker still on the first packet."""
    from sipqual.rtpevents import build_events

    (e,) = build_events(_event_stream([(445, 160, True, False), (447, 480, False, False), (446, 320, False, False),
                                       (448, 480, False, True)]), 101)
    assert e.durations == [160, 320, 480, 480] and e.marker_first and e.first_frame == 1
    assert e.duration_regressions == []
    (e,) = build_events(_event_stream([(65535, 160, False, False), (0, 320, True, False), (1, 480, False, True)]), 101)
    assert e.durations == [160, 320, 480] and not e.marker_first       # across the wrap: 65535 comes first
    assert e.markers_later == [2]


def test_a_duration_that_shrinks_in_sequence_order_is_still_a_regression():
    from sipqual.rtpevents import build_events

    (e,) = build_events(_event_stream([(10, 160, True, False), (11, 480, False, False), (12, 320, False, False)]),
                        101)
    assert e.duration_regressions == [3]
