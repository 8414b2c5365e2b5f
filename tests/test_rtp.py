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
    assert s.by_pt[111].observed_clock() == pytest.approx(48000, rel=0.01)
    assert s.by_pt[111].ts_steps == {960: 29}


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
    bad = bytes([0x40]) + rtp(3, 480)[1:]
    assert not m.feed(9, 101.0, None, A, 16000, B, 30000, bad)
    assert one_stream(m).bad_version == [9]


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
    from sipqual.rtp import MAX_BYES, MAX_RTCP_TAILS
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
    from sipqual.rtp import srtcp_trailers
    assert srtcp_trailers(f.sdp.media) == [(4, 4, False, "AES_CM_128_HMAC_SHA1_32")]
