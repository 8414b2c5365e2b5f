"""The media model (sipqual.rtp) on hand-built RTP/RTCP payloads: classification, RFC 3550 sequence accounting and
jitter, RTCP compound walking, RFC 4733 event grouping, SRTP facts, and SDP attachment."""

import struct

import pytest

from sipqual.rtp import MediaModel, RtpStream, classify, entropy
from sipqual.sdp import parse_sdp

A, B = "192.0.2.10", "192.0.2.1"


def rtp(seq: int, ts: int, pt: int = 0, ssrc: int = 0x1234, marker: bool = False, payload: bytes = b"\xff" * 160,
        csrc: int = 0, ext: bytes | None = None, pad: int = 0) -> bytes:
    b0 = 0x80 | csrc | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    head = struct.pack(">BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    head += b"\0\0\0\1" * csrc
    if ext is not None:
        head += struct.pack(">HH", 0xBEDE, len(ext) // 4) + ext
    return head + payload + (bytes(pad - 1) + bytes([pad]) if pad else b"")


def feed(model: MediaModel, packets, start_frame: int = 1, start: float = 100.0, step: float = 0.02,
         src: str = A, sport: int = 16000, dst: str = B, dport: int = 30000):
    for i, p in enumerate(packets):
        assert model.feed(start_frame + i, start + i * step, "dut-ms", src, sport, dst, dport, p)


def one_stream(model: MediaModel) -> RtpStream:
    (stream,) = model.rtp_streams
    return stream


def test_classify_by_header_structure():
    assert classify(rtp(1, 160), 16000, 30000) == "rtp"
    assert classify(rtp(1, 160, csrc=2, ext=b"\x10\x20\x30\x40", pad=4), 16000, 30000) == "rtp"
    assert classify(bytes([0x80, 200, 0, 6]) + bytes(24), 16001, 30001) == "rtcp"
    assert classify(b"INVITE sip:x SIP/2.0\r\n", 5060, 5060) is None          # SIP text is version 1 by its bits
    assert classify(rtp(1, 160), 53, 30000) is None                         # a system service port
    assert classify(rtp(1, 160)[:10], 16000, 30000) is None                  # shorter than an RTP header
    assert classify(bytes([0x8F]) + rtp(1, 160)[1:20], 16000, 30000) is None   # 15 CSRCs announced, 2 present


def test_sequence_wrap_gap_duplicate_and_late_packet():
    m = MediaModel()
    seqs = [65533, 65534, 65535, 0, 1, 4, 4, 3, 5]     # wrap, 2 missing (2, 3), a duplicate, 3 arrives late
    feed(m, [rtp(s, 160 * i) for i, s in enumerate(seqs)])
    s = one_stream(m)
    assert (s.packets, s.cycles, s.duplicates, s.late, s.lost) == (9, 1 << 16, 1, 1, 1)
    assert [(g.frame, g.expected, g.observed, g.kind, g.missing) for g in s.gaps] == [(6, 2, 4, "gap", 1)]
    assert s.restarts == 0 and s.discontinuities == s.gaps and s.reordered == 0


def test_reordering_is_not_loss():
    m = MediaModel()
    feed(m, [rtp(s, 160 * i) for i, s in enumerate([1, 2, 4, 3, 5])])
    s = one_stream(m)
    assert (s.lost, s.late, s.reordered, s.discontinuities) == (0, 1, 1, [])


def test_sequence_restart_is_not_counted_as_loss():
    m = MediaModel()
    feed(m, [rtp(s, 160 * i) for i, s in enumerate([10, 11, 30000, 30001])])
    s = one_stream(m)
    assert s.restarts == 1 and s.lost == 0 and s.gaps[0].kind == "restart" and s.gaps[0].frame == 3


def test_jitter_follows_rfc3550_a8():
    m = MediaModel()
    arrivals = [0.0, 0.020, 0.045, 0.060, 0.080]       # the third packet 5 ms late
    for i, t in enumerate(arrivals):
        m.feed(i + 1, 100 + t, None, A, 16000, B, 30000, rtp(i, 160 * i))
    s = one_stream(m)
    j = 0.0
    for d in (0, 40, 40, 0):                             # |D(i-1, i)| in 8 kHz timestamp units
        j += (d - j) / 16
    assert s.by_pt[0].jitter_at(8000) == pytest.approx(j, abs=1e-6)
    assert s.jitter_ms == pytest.approx(1000 * j / 8000, abs=1e-6)


def test_dynamic_clock_rate_comes_from_the_receivers_sdp():
    m = MediaModel()
    feed(m, [rtp(i, 960 * i, pt=111, payload=b"\x01" * 80) for i in range(30)], step=0.02)
    offer = parse_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                      "m=audio 30000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n")
    m.apply_sdp([(7, 99.0, offer)])
    s = one_stream(m)
    assert s.sdp.frame == 7 and s.clock_rate(111) == 48000 and s.encoding(111) == "opus"
    assert s.jitter_ms == pytest.approx(0.0, abs=1e-6)   # perfectly paced at 48 kHz
    assert s.by_pt[111].clock.steps == {(960, 80): [29, 2]} and s.by_pt[111].clock.read == 29
    assert s.by_pt[111].clock.arrival_rate() is None       # 0.6 s: far too short for steady arrival windows


def test_rtcp_compound_sr_sdes_cname_and_bye():
    sr = struct.pack(">BBHI", 0x80, 200, 6, 0x1234) + bytes(20)
    cname = b"\x01\x05alice"
    body = struct.pack(">I", 0x1234) + cname + b"\x00"
    body += bytes(-len(body) % 4)
    sdes = struct.pack(">BBH", 0x81, 202, len(body) // 4) + body
    bye = struct.pack(">BBHI", 0x81, 203, 1, 0x1234)
    rr_only = struct.pack(">BBHI", 0x80, 201, 1, 0x1234)
    m = MediaModel()
    assert m.feed(1, 10.0, None, A, 16001, B, 30001, sr + sdes)
    assert m.feed(2, 15.0, None, A, 16001, B, 30001, rr_only)
    assert m.feed(3, 45.5, None, A, 16001, B, 30001, sdes + bye)
    (f,) = m.rtcp_flows
    assert f.compounds == 3 and f.cnames == {"alice"} and f.types == {200: 1, 201: 1, 202: 2, 203: 1}
    assert (f.bad_start, f.no_cname, f.bye_frame) == (3, 2, 3)
    assert f.max_gap == pytest.approx(30.5) and f.max_gap_frame == 3 and f.opaque == 0


def test_srtcp_trailer_makes_a_compound_opaque_not_malformed():
    sr = struct.pack(">BBHI", 0x80, 200, 6, 0x1234) + bytes(20)
    m = MediaModel()
    m.feed(1, 1.0, None, A, 16001, B, 30001, sr + bytes(range(7, 21)))    # encrypted rest + index + tag
    (f,) = m.rtcp_flows
    assert f.opaque == 1 and f.no_cname is None and f.bad_start is None


def event(code: int, end: bool, duration: int) -> bytes:
    return struct.pack(">BBH", code, (0x80 if end else 0) | 10, duration)


def test_rfc4733_events_grouped_by_timestamp():
    m = MediaModel()
    pkts = [rtp(1, 8000, pt=101, marker=True, payload=event(5, False, 160)),
            rtp(2, 8000, pt=101, payload=event(5, False, 320)),
            rtp(3, 8000, pt=101, payload=event(5, True, 480)),
            rtp(4, 8000, pt=101, payload=event(5, True, 480)),
            rtp(5, 8000, pt=101, payload=event(5, True, 480)),
            rtp(6, 9600, pt=101, payload=event(11, False, 160)),       # no marker on the first packet
            rtp(7, 9600, pt=101, payload=event(11, True, 320)),
            rtp(8, 9600, pt=101, payload=event(11, False, 320))]       # E cleared again
    feed(m, pkts)
    m.apply_sdp([])
    first, second = m.events()
    assert (first.code, first.marker_first, first.end_count, first.duration, first.frames) == (5, True, 3, 480,
                                                                                                [1, 2, 3, 4, 5])
    assert (second.code, second.marker_first, second.end_count, second.end_cleared_frame) == (11, False, 1, 8)


def test_cleartext_g711_versus_srtp_payloads():
    tone = bytes((0x80 + (i * 37) % 40) for i in range(160))            # audio-like: few distinct byte values
    clear, srtp = MediaModel(), MediaModel()
    feed(clear, [rtp(i, 160 * i, payload=tone) for i in range(40)])
    import random
    rnd = random.Random(7)
    feed(srtp, [rtp(i, 160 * i, payload=rnd.randbytes(170)) for i in range(40)])
    c, s = one_stream(clear), one_stream(srtp)
    assert c.looks_cleartext_g711 and c.typical_payload_len == 160
    assert not s.looks_cleartext_g711 and s.typical_payload_len == 170 and s.payload_entropy > 7.5


def test_bad_version_on_a_known_rtp_address_pair_is_recorded():
    m = MediaModel()
    feed(m, [rtp(i, 160 * i) for i in range(3)])
    for frame, first in ((9, 0x50), (10, 0xC0)):            # version 1 and 3, in no RFC 7983 range
        assert not m.feed(frame, 101.0, None, A, 16000, B, 30000, bytes([first]) + rtp(3, 480)[1:])
    assert one_stream(m).bad_version == [9, 10] and not m.demuxed


def stun_request(length_ok: bool = True) -> bytes:
    attrs = struct.pack(">HH", 6, 8) + b"sbc1:ms1"
    return struct.pack(">HHI", 0x0001, len(attrs) + (0 if length_ok else 4), 0x2112A442) + bytes(12) + attrs


DTLS_HELLO = struct.pack(">BHH", 22, 0xFEFF, 0) + bytes(6) + struct.pack(">H", 3) + b"\x01\x00\x00"
ZRTP_HELLO = b"\x10\x00\x00\x01ZRTP\x00\x00\x00\x01\x50\x5a\x00\x03Hello   "
TURN_DATA = struct.pack(">HH", 0x4001, 5) + b"abcde" + bytes(3)


def test_rfc7983_first_byte_ranges_and_structure():
    from sipqual.demux import first_byte_kind, well_formed
    assert [first_byte_kind(bytes([b])) for b in (0, 3, 4, 16, 19, 20, 63, 64, 79, 80, 128, 192)] == \
        ["STUN", "STUN", None, "ZRTP", "ZRTP", "DTLS", "DTLS", "TURN", "TURN", None, None, None]
    assert well_formed("STUN", stun_request()) and not well_formed("STUN", stun_request(length_ok=False))
    assert well_formed("DTLS", DTLS_HELLO) and well_formed("DTLS", DTLS_HELLO * 2) and not well_formed("DTLS",
                                                                                                    DTLS_HELLO[:-1])
    assert well_formed("ZRTP", ZRTP_HELLO) and not well_formed("ZRTP", ZRTP_HELLO.replace(b"ZRTP", b"ZRTQ"))
    assert well_formed("TURN", TURN_DATA) and not well_formed("TURN", TURN_DATA + bytes(4))
    for sip in (b"INVITE sip:a@b SIP/2.0\r\n", b"OPTIONS sip:a@b SIP/2.0\r\n", b"ACK sip:a@b SIP/2.0\r\n\r\n"):
        assert not well_formed(first_byte_kind(sip), sip)     # A-O are TURN's first bytes; the length says no


def test_demultiplexed_packets_are_counted_and_never_reach_rtp_state():
    """STUN, DTLS, ZRTP and TURN on a media 5-tuple are counted per 5-tuple; well-formed ones are taken before any
    RTP (ICE comes first), anything with their first byte once the pair carries RTP; SIP text on a high port and
    malformed bytes on an unknown pair are left alone (forwarded to tshark)."""
    m = MediaModel()
    assert m.feed(1, 99.0, None, A, 16000, B, 30000, stun_request())                 # before any RTP
    assert m.feed(2, 99.1, None, B, 30000, A, 16000, DTLS_HELLO)
    assert not m.feed(3, 99.2, None, A, 16000, B, 30000, stun_request(length_ok=False))   # not yet media
    assert not m.feed(4, 99.3, None, A, 5080, B, 5080, b"INVITE sip:a@b SIP/2.0\r\n\r\n")
    feed(m, [rtp(i, 160 * i) for i in range(5)], start_frame=10)
    assert m.feed(20, 100.5, None, A, 16000, B, 30000, stun_request(length_ok=False))   # on the RTP pair now
    assert m.feed(21, 100.6, None, B, 30000, A, 16000, ZRTP_HELLO)                      # and its reverse
    assert m.feed(22, 100.7, None, A, 16000, B, 30000, TURN_DATA)
    s = one_stream(m)
    assert (s.packets, s.bad_version, s.lost, s.payload_types) == (5, [], 0, [0])
    ours, theirs = m.demuxed[(A, 16000, B, 30000)], m.demuxed[(B, 30000, A, 16000)]
    assert ours.counts == {"STUN": 2, "TURN": 1} and ours.first_frames == {"STUN": 1, "TURN": 22}
    assert theirs.summary() == "1 ZRTP, 1 DTLS" and theirs.packets == 2
    assert [p for p, _ in m.demuxed_on(B, 30000, A, 16000)] == [(B, 30000, A, 16000), (A, 16000, B, 30000)]


def test_demultiplexed_5_tuples_are_bounded():
    from sipqual.demux import MAX_TUPLES
    m = MediaModel()
    for i in range(MAX_TUPLES + 10):
        assert m.feed(i, 1.0, None, A, 20000 + i, B, 30000, stun_request())
    assert len(m.demuxed) == MAX_TUPLES and m.demux_overflow == 10


def test_clock_steps_read_timestamp_per_sequence_step_against_payload_size():
    """Loss (a sequence step of 2 moving the timestamp 320) still reads +160; a marked packet (talkspurt) and a
    step across another payload type's packet are not read; a wrong clock shows as +320 per 160 bytes."""
    from sipqual.rtpclock import read_steps
    m = MediaModel()
    pkts = [rtp(0, 0), rtp(1, 160), rtp(3, 480), rtp(4, 640), rtp(5, 5000, marker=True),      # loss; talkspurt
            rtp(6, 5000, pt=101, payload=event(1, False, 160)), rtp(7, 5320), rtp(8, 5480), rtp(9, 5640)]
    feed(m, pkts)
    clock = one_stream(m).by_pt[0].clock
    assert clock.steps == {(160, 160): [5, 2]} and clock.read == 5
    reading = read_steps(clock)
    assert reading.ok and (reading.step, reading.size, reading.count, reading.read, reading.frame) == \
        (160, 160, 5, 5, 2)
    fast = MediaModel()
    feed(fast, [rtp(i, 320 * i) for i in range(8)])
    bad = read_steps(one_stream(fast).by_pt[0].clock)
    assert not bad.ok and (bad.step, bad.size, bad.count, bad.clock(8000)) == (320, 160, 7, 16000)
    srtp = MediaModel()
    feed(srtp, [rtp(i, 160 * i, payload=bytes(170)) for i in range(8)])
    assert not read_steps(one_stream(srtp).by_pt[0].clock).ok              # 170 bytes are not 170 samples ...
    assert read_steps(one_stream(srtp).by_pt[0].clock, (0, 10)).ok         # ... but 160 and a 10-byte tag
    assert read_steps(one_stream(fast).by_pt[0].clock.__class__()) is None  # nothing read: no verdict


def test_arrival_rate_is_the_median_of_steady_windows_and_ignores_bursts():
    """60 s of exact +160 steps whose arrival comes in bursts (a relay holding 120 ms, then 7 packets within 0.1 ms,
    every second): the steady-window median stays within 3 % of 8000, where timestamp span over arrival span of
    the first second reads 8906."""
    from sipqual.rtpclock import MIN_WINDOWS, WINDOW_S
    m = MediaModel()
    for i in range(3000):
        k = i % 50
        when = 100.0 + 0.02 * i if k >= 7 else 100.0 + 0.02 * (i - k + 6) + 0.000015 * k
        m.feed(i + 1, when, None, A, 16000, B, 30000, rtp(i, 160 * i))
    rate, windows = one_stream(m).by_pt[0].clock.arrival_rate()
    assert windows >= MIN_WINDOWS and windows <= 60 / WINDOW_S and rate == pytest.approx(8000, rel=0.03)
    short = MediaModel()
    feed(short, [rtp(i, 160 * i) for i in range(100)])                     # 2 s: no steady window yet
    assert one_stream(short).by_pt[0].clock.arrival_rate() is None


def test_arrival_windows_are_bounded_and_thinned_evenly():
    from sipqual.rtpclock import MAX_WINDOWS, ClockSteps
    c = ClockSteps()
    for i in range(200_000):                                              # 4000 s at 20 ms: 800 windows of 5 s
        c.add(i, 0.02 * i, i & 0xFFFF, (160 * i) & 0xFFFFFFFF, 160, False, True)
    assert c.seen_windows >= 790 and MAX_WINDOWS // 2 <= len(c.windows) <= MAX_WINDOWS and c.stride >= 16
    assert c.arrival_rate()[0] == pytest.approx(8000, rel=0.01)


def test_entropy_extremes():
    assert entropy(b"\x00" * 100) == 0.0
    assert entropy(bytes(range(256)) * 4) == pytest.approx(8.0)


def test_memory_per_stream_does_not_grow_with_its_length():
    """Counters and capped samples only: 60x more packets (with gaps, duplicates and events) cost no more memory."""
    import tracemalloc

    def model_size(n: int) -> int:
        tracemalloc.start()
        m = MediaModel()
        for i in range(n):
            seq = i + i // 50                              # a gap every 50 packets
            m.feed(i, i * 0.02, None, A, 16000, B, 30000, rtp(seq, 160 * i, payload=bytes([i % 7]) * 160))
            if i % 97 == 0:                                # a duplicate now and then
                m.feed(i, i * 0.02, None, A, 16000, B, 30000, rtp(seq, 160 * i))
            if i % 100 == 0:                               # and an event packet
                m.feed(i, i * 0.02, None, A, 16000, B, 30000, rtp(seq, 160 * i, pt=101, payload=event(1, 0, 160)))
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert one_stream(m).packets > n
        return size

    small, large = model_size(500), model_size(30_000)
    assert large - small < 400 * 1024, (small, large)


def test_activity_runs_split_at_silences_and_are_capped():
    from sipqual.rtp import ACTIVITY_GAP, MAX_ACTIVITY
    m = MediaModel()
    times = [0.0, 0.02, 0.04, 0.04 + ACTIVITY_GAP + 0.5, 0.04 + ACTIVITY_GAP + 0.52, 10.0]
    for i, t in enumerate(times):
        m.feed(i + 1, 100.0 + t, None, A, 16000, B, 30000, rtp(i, 160 * i))
    runs = one_stream(m).activity
    assert [(r.first_frame, r.packets, round(r.end - r.start, 2)) for r in runs] == [(1, 3, 0.04), (4, 2, 0.02),
                                                                                     (6, 1, 0.0)]
    assert not any(r.open_ended for r in runs) and not one_stream(m).activity_overflow
    capped = MediaModel()
    for i in range(MAX_ACTIVITY + 10):                 # a packet every 2 s: each one a run of its own
        capped.feed(i + 1, 2.0 * i, None, A, 16000, B, 30000, rtp(i, 16000 * i))
    runs = one_stream(capped).activity
    assert len(runs) == MAX_ACTIVITY and runs[-1].open_ended and runs[-1].packets == 11
    assert runs[-1].end == 2.0 * (MAX_ACTIVITY + 9) and sum(r.packets for r in runs) == MAX_ACTIVITY + 10


def test_comfort_noise_levels_sampled_per_payload_type():
    from sipqual.rtp import MAX_CN_SAMPLE
    m = MediaModel()
    pkts = [rtp(i, 160 * i, pt=13, payload=bytes([40 + i, 1, 2])) for i in range(6)]
    pkts += [rtp(6, 960, pt=13, payload=b"\x90"), rtp(7, 1120, pt=13, payload=b"")]     # top bit set; no level
    pkts += [rtp(8, 1280, pt=118, payload=b"\x30")]                                     # a dynamic small payload
    pkts += [rtp(9, 1440, pt=118, payload=bytes(100))]                                  # too big to be CN
    feed(m, pkts)
    s = one_stream(m)
    cn = s.small[13]
    assert cn.packets == 8 and len(cn.sample) == MAX_CN_SAMPLE and cn.sample[0] == (1, 40)
    assert cn.high == 2 and cn.first_high == (7, 0x90)
    assert s.small[118].packets == 1 and s.small[118].sample == [(9, 0x30)]
    assert s.by_pt[118].packets == 2


def test_rtcp_byes_tails_and_gap_end():
    from sipqual.rtcp import MAX_BYES, MAX_RTCP_TAILS
    rr = struct.pack(">BBHI", 0x80, 201, 1, 0x1234)
    bye = struct.pack(">BBHII", 0x82, 203, 2, 0x1234, 0x5678)
    m = MediaModel()
    m.feed(1, 10.0, None, A, 16001, B, 30001, rr)
    m.feed(2, 17.0, None, A, 16001, B, 30001, rr + bye)
    (f,) = m.rtcp_flows
    assert f.byes == [(2, 17.0, (0x1234, 0x5678))] and f.bye_frame == 2
    assert f.max_gap == 7.0 and f.max_gap_end == 17.0
    assert [(t.frame, t.length, t.ends, t.parsed) for t in f.tails] == [(1, 8, (8,), True), (2, 20, (8, 20), True)]
    assert f.tails[1].word_before(12) == 0x82CB_0002 and f.tails[1].word_before(40) is None
    for i in range(MAX_RTCP_TAILS + MAX_BYES):
        m.feed(3 + i, 20.0 + i, None, A, 16001, B, 30001, rr + bye)
    assert len(f.tails) == MAX_RTCP_TAILS and len(f.byes) == MAX_BYES and f.byes[-1][0] == 2 + MAX_RTCP_TAILS + MAX_BYES
    assert f.bye_frame == 2


@pytest.mark.parametrize("extra, dport", [("", 16001), ("a=rtcp-mux\r\n", 16000), ("a=rtcp:17000\r\n", 17000),
                                          ("a=rtcp:17002 IN IP4 192.0.2.99\r\n", 17002)])
def test_rtcp_flow_gets_the_receivers_sdp_by_its_rtcp_address(extra, dport):
    dst = "192.0.2.99" if "192.0.2.99" in extra else B
    sdp = parse_sdp(f"v=0\r\no=- 1 1 IN IP4 {B}\r\ns=-\r\nc=IN IP4 {B}\r\nt=0 0\r\nm=audio 16000 RTP/SAVP 0\r\n"
                    "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:4 "
                    f"UNENCRYPTED_SRTCP\r\n{extra}")
    m = MediaModel()
    m.feed(1, 10.0, None, A, 30001, dst, dport, struct.pack(">BBHI", 0x80, 201, 1, 0x1234))
    m.apply_sdp([(7, 9.0, sdp)])
    (f,) = m.rtcp_flows
    assert f.sdp is not None and f.sdp.frame == 7 and f.sdp.srtp
    from sipqual.rtcp import srtcp_trailers
    assert srtcp_trailers(f.sdp.media) == [(4, 4, False, "AES_CM_128_HMAC_SHA1_32")]
