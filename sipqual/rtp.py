"""The media model of a capture: RTP streams, RTCP flows and RFC 4733 events, built in one streaming pass.

Why a model and not a packet list: a qualification capture is mostly RTP, and checks ask per-stream questions (did
media flow both ways, in which payload type, with gaps, at what jitter, is it SRTP where SRTP was negotiated, did
RTCP come often enough, did it stop while on hold, did it say BYE, is its RTCP SRTCP). Each stream keeps counters and
a few bounded samples (the first payload bytes, the sequence gaps, the candidate telephone-event packets, the first
comfort-noise level bytes, its runs of activity between silences, its timestamp clock facts: :mod:`.rtpclock`;
the telephone events: :mod:`.rtpevents`), and
each RTCP flow (:mod:`.rtcp`) its BYEs and the tail bytes of its first compounds, so memory does not grow with the
length of a call. STUN, ZRTP, DTLS and TURN sharing a media port are told apart first (RFC 7983, :mod:`.demux`) and
only counted.

Conventions: a stream is one direction, keyed by (src, sport, dst, dport, SSRC), as RFC 3550 defines a source.
Jitter is RFC 3550 section 6.4.1 / A.8 interarrival jitter per payload type; the clock rate is 8000 for the static
G.711/G.722/CN types, the SDP ``rtpmap`` rate for a dynamic type when the SDP is in the capture, else 8000 (jitter
for dynamic types is computed for all likely clock rates while streaming, and the right one is picked once the SDP
is known). SDP facts are attached by :meth:`MediaModel.apply_sdp` after the SIP side is read: a stream is described
by the SDP of its *receiver* (the ``c=``/``m=`` address it is sent to), an RTCP flow by the receiver's SDP whose
RTCP address it is sent to.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from .demux import Demuxed, MAX_TUPLES, first_byte_kind, well_formed
from .rtcp import SRTP_TAGS, RtcpFlow, rtcp_destinations
from .rtpclock import ClockSteps
from .rtpevents import DtmfEvent, build_events, telephone_event_pts
from .sdp import Media, Sdp

STATIC_CLOCK = {0: 8000, 3: 8000, 4: 8000, 8: 8000, 9: 8000, 13: 8000, 18: 8000}
G711 = (0, 8)
DYNAMIC_CLOCKS = (8000, 16000, 48000)
SDP_SLACK = 1.0              # s: an SDP captured on another interface may be stamped just after the media
MIN_PORT = 1024              # RTP/RTCP use dynamic ports (RFC 3551 section 8); lower ports are other services
OTHER_SERVICES = frozenset({1900, 3702, 5060, 5061, 5353, 5355})   # SSDP, WS-Discovery, SIP, mDNS, LLMNR
MAX_DROPOUT, MAX_MISORDER = 3000, 100    # RFC 3550 A.1: larger jumps are a sequence restart, not loss
MAX_GAPS = 16                # sequence discontinuities kept per stream (all are counted)
MAX_SIZES = 16               # distinct payload sizes kept per payload type
MAX_EVENT_PACKETS = 4096     # candidate RFC 4733 packets kept per stream
ENTROPY_SAMPLE = 2048        # payload bytes per stream sampled for the cleartext test, then dropped
TIME_BUCKET = 0.1            # s: packets are also counted per bucket of this length (packets_between)
MAX_BUCKETS = 36000          # buckets counted per stream (an hour from its first packet, 2 bytes each); later
                             # packets are not
ACTIVITY_GAP = 1.0           # s: a longer silence between two packets of a stream starts a new activity run
MAX_ACTIVITY = 64            # activity runs kept per stream; past that the last run absorbs the rest (overflow)
SMALL_PAYLOAD = 24           # bytes: dynamic-PT payloads up to this size are sampled as possible comfort noise
MAX_CN_PTS = 8               # payload types sampled that way per stream
MAX_CN_SAMPLE = 4            # (frame, first byte) kept per such payload type
RANDOM_ENTROPY = 7.5         # bits/byte: encrypted payloads measure ~7.9 on 2 KB; G.711 audio well below


def media_ports(sport: int, dport: int) -> bool:
    """Both ports could be media ports: dynamic (RFC 3551 section 8) and not another service's."""
    return sport >= MIN_PORT and dport >= MIN_PORT and sport not in OTHER_SERVICES and dport not in OTHER_SERVICES


def classify(payload: bytes, sport: int, dport: int) -> str | None:
    """"rtp", "rtcp" or None for a UDP payload, by RFC 3550 header structure (version 2, lengths that add up) and
    the RFC 5761 payload-type split (second byte 192-223 is RTCP)."""
    n = len(payload)
    if n < 8 or payload[0] >> 6 != 2 or not media_ports(sport, dport):
        return None
    if 192 <= payload[1] <= 223:
        return "rtcp" if (int.from_bytes(payload[2:4], "big") + 1) * 4 <= n else None
    if n < 12:
        return None
    b0 = payload[0]
    hlen = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:
        if n < hlen + 4:
            return None
        hlen += 4 + 4 * int.from_bytes(payload[hlen + 2:hlen + 4], "big")
    if hlen > n or (b0 & 0x20 and (payload[-1] == 0 or hlen + payload[-1] > n)):
        return None
    return "rtp"


@dataclass
class SeqGap:
    """A sequence discontinuity: at ``frame`` the sequence number was ``observed`` where ``expected`` was due.
    ``missing`` counts down as skipped packets turn up late: a gap that reaches 0 was reordering, not loss."""

    frame: int
    expected: int
    observed: int
    kind: str                 # "gap" (packets skipped) or "restart" (a jump beyond RFC 3550 A.1 limits)
    missing: int = 0

    def covers(self, seq: int) -> bool:
        return self.kind == "gap" and (seq - self.expected) & 0xFFFF < (self.observed - self.expected) & 0xFFFF


def entropy(data: bytes) -> float:
    """Shannon entropy of a byte string in bits per byte."""
    if not data:
        return 0.0
    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


class PtStats:
    """Per payload type within a stream: count, jitter, payload sizes and timestamp clock facts (:mod:`.rtpclock`)."""

    __slots__ = ("pt", "packets", "clocks", "jitter", "transit", "sizes", "clock")

    def __init__(self, pt: int):
        self.pt = pt
        self.packets = 0
        self.clocks = (STATIC_CLOCK[pt],) if pt in STATIC_CLOCK else DYNAMIC_CLOCKS
        self.jitter = [0.0] * len(self.clocks)
        self.transit: list[float] | None = None
        self.sizes: dict[int, int] = {}
        self.clock = ClockSteps()

    def add(self, frame: int, when: float, seq: int, ts: int, plen: int, marker: bool, follows: bool) -> None:
        """One packet; ``follows``: the stream's previous packet was of this payload type too."""
        self.packets += 1
        transit = [when * c - ts for c in self.clocks]
        if self.transit is not None:
            for i, t in enumerate(transit):
                d = t - self.transit[i]
                # timestamps wrap at 2**32: a wrapped difference shows up as a huge jump, which is not jitter
                if abs(d) < 2 ** 31:
                    self.jitter[i] += (abs(d) - self.jitter[i]) / 16
        self.transit = transit
        self.clock.add(frame, when, seq, ts, plen, marker, follows)
        _count(self.sizes, plen)

    def jitter_at(self, clock: int) -> float:
        """Interarrival jitter in timestamp units for this clock rate (falls back to the first computed one)."""
        return self.jitter[self.clocks.index(clock)] if clock in self.clocks else self.jitter[0]


def _count(d: dict[int, int], key: int) -> None:
    if key in d:
        d[key] += 1
    elif len(d) < MAX_SIZES:
        d[key] = 1


@dataclass
class SdpRef:
    """The receiver's SDP media section that describes a stream, and the frame carrying it."""

    frame: int
    time: float
    media: Media

    @property
    def srtp(self) -> bool:
        return "SAVP" in self.media.proto.upper()

    @cached_property
    def rtpmap(self) -> dict[int, tuple[str, int, str | None]]:
        return self.media.rtpmap


@dataclass(frozen=True)
class Activity:
    """A run of packets of one stream without a silence longer than :data:`ACTIVITY_GAP` inside it."""

    start: float
    end: float
    first_frame: int
    packets: int
    open_ended: bool = False   # the run cap was reached: this last run absorbed later runs, silences unknown


class SmallPayloads:
    """Possible comfort noise (RFC 3389) on one payload type: PT 13 packets of any size, dynamic-PT packets of up to
    :data:`SMALL_PAYLOAD` bytes. Counts are exact, the sample is the first :data:`MAX_CN_SAMPLE` packets, and the
    first packet whose first byte (the noise level) has its top bit set, or that has no byte, is kept."""

    __slots__ = ("packets", "sample", "high", "first_high")

    def __init__(self):
        self.packets = self.high = 0
        self.sample: list[tuple[int, int]] = []          # (frame, first byte or -1 for an empty payload)
        self.first_high: tuple[int, int] | None = None

    def add(self, frame: int, level: int) -> None:
        self.packets += 1
        if len(self.sample) < MAX_CN_SAMPLE:
            self.sample.append((frame, level))
        if level > 127 or level < 0:
            self.high += 1
            if self.first_high is None:
                self.first_high = (frame, level)


class RtpStream:
    """One RTP source in one direction. Counters are exact; samples are bounded (see module constants)."""

    def __init__(self, src: str, sport: int, dst: str, dport: int, ssrc: int, interface: str | None):
        self.src, self.sport, self.dst, self.dport, self.ssrc = src, sport, dst, dport, ssrc
        self.interface = interface
        self.packets = 0
        self.first_frame = self.last_frame = 0
        self.first_time = self.last_time = 0.0
        self.by_pt: dict[int, PtStats] = {}
        self._last_pt = -1            # payload type of the previous packet (steps across another type are not read)
        self.markers = 0
        # sequence accounting, RFC 3550 A.1 style
        self.max_seq = self.first_seq = 0
        self.cycles = 0
        self.received_window = 0      # bit i: max_seq - i was received (duplicate detection over 64 packets)
        self.duplicates = self.late = self.in_sequence = self.restarts = 0
        self._missing = 0            # sequence numbers skipped, less those that turned up late
        self.gaps: list[SeqGap] = []
        self.gap_count = 0
        self.event_packets: list[tuple[int, float, int, int, bool, int, bytes]] = []
        self._sample: bytearray | None = bytearray()
        self._entropy: float | None = None
        self.bad_version: list[int] = []   # frames on this stream's address pair that were not RTP version 2 (nor
        #                                    STUN, ZRTP, DTLS or TURN by RFC 7983: those are counted in MediaModel)
        self.sdp: SdpRef | None = None
        self.events: list[DtmfEvent] = []
        self.small: dict[int, SmallPayloads] = {}      # PT -> possible comfort noise (see SmallPayloads)
        # activity runs: (start time, first frame, packets before it) per run, end time of each closed run
        self._run_starts: list[tuple[float, int, int]] = []
        self._run_ends: list[float] = []
        self.activity_overflow = False
        self.buckets = array("H")   # packets per TIME_BUCKET from the first packet on (hold/resume windows, TC-HLD-*)
        self._bucket0 = 0.0

    @property
    def key(self) -> tuple[str, int, str, int, int]:
        return self.src, self.sport, self.dst, self.dport, self.ssrc

    def add(self, frame: int, when: float, payload: bytes, hlen: int) -> None:
        b1 = payload[1]
        pt, marker = b1 & 0x7F, bool(b1 & 0x80)
        seq = (payload[2] << 8) | payload[3]
        ts = int.from_bytes(payload[4:8], "big")
        plen = len(payload) - hlen - (payload[-1] if payload[0] & 0x20 else 0)
        if self.packets == 0:
            self.first_frame, self.first_time = frame, when
            self.max_seq = self.first_seq = seq
            self.received_window = 1
            self._run_starts.append((when, frame, 0))
        else:
            self._sequence(frame, seq)
            if when - self.last_time > ACTIVITY_GAP:
                self._new_run(frame, when)
        self.packets += 1
        self.last_frame, self.last_time = frame, when
        if self.packets == 1:
            self._bucket0 = when
        b = max(0, int((when - self._bucket0) / TIME_BUCKET))
        if b < MAX_BUCKETS:
            if b >= len(self.buckets):
                self.buckets.extend([0] * (b + 1 - len(self.buckets)))
            if self.buckets[b] < 0xFFFF:
                self.buckets[b] += 1
        if marker:
            self.markers += 1
        stats = self.by_pt.get(pt)
        if stats is None:
            stats = self.by_pt[pt] = PtStats(pt)
        stats.add(frame, when, seq, ts, plen, marker, pt == self._last_pt)
        self._last_pt = pt
        if pt == 13 or (pt >= 96 and plen <= SMALL_PAYLOAD):
            if plen == 4 and pt >= 96 and len(self.event_packets) < MAX_EVENT_PACKETS:
                self.event_packets.append((frame, when, seq, ts, marker, pt, payload[hlen:hlen + 4]))
            self._small_payload(pt, frame, payload[hlen] if plen > 0 else -1)
        if self._sample is not None:
            self._sample += payload[hlen:hlen + plen]
            if len(self._sample) >= ENTROPY_SAMPLE:
                self._entropy, self._sample = entropy(self._sample), None

    def _new_run(self, frame: int, when: float) -> None:
        if len(self._run_starts) < MAX_ACTIVITY:
            self._run_ends.append(self.last_time)
            self._run_starts.append((when, frame, self.packets))
        else:
            self.activity_overflow = True

    def _small_payload(self, pt: int, frame: int, level: int) -> None:
        sample = self.small.get(pt)
        if sample is None:
            if len(self.small) >= MAX_CN_PTS:
                return
            sample = self.small[pt] = SmallPayloads()
        sample.add(frame, level)

    def _sequence(self, frame: int, seq: int) -> None:
        delta = (seq - self.max_seq) & 0xFFFF
        if delta == 0:
            self.duplicates += 1
        elif delta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += 1 << 16
            if delta == 1:
                self.in_sequence += 1
            else:
                self._missing += delta - 1
                self._gap(frame, (self.max_seq + 1) & 0xFFFF, seq, "gap", delta - 1)
            self.max_seq = seq
            self.received_window = ((self.received_window << delta) | 1) & 0xFFFFFFFFFFFFFFFF
        elif 0x10000 - delta <= MAX_MISORDER:
            back = 0x10000 - delta
            if back < 64 and self.received_window >> back & 1:
                self.duplicates += 1
            else:
                self.late += 1
                self._missing -= 1  # it was counted missing when the sequence moved past it
                if back < 64:
                    self.received_window |= 1 << back
                for g in reversed(self.gaps):
                    if g.covers(seq):
                        g.missing -= 1
                        break
        else:
            self.restarts += 1
            self._gap(frame, (self.max_seq + 1) & 0xFFFF, seq, "restart")
            self.max_seq, self.received_window = seq, 1

    def _gap(self, frame: int, expected: int, observed: int, kind: str, missing: int = 0) -> None:
        self.gap_count += 1
        if len(self.gaps) < MAX_GAPS:
            self.gaps.append(SeqGap(frame, expected, observed, kind, missing))

    @property
    def discontinuities(self) -> list[SeqGap]:
        """Recorded gaps that stayed gaps (packets never seen) and restarts; reorderings left out."""
        return [g for g in self.gaps if g.kind == "restart" or g.missing > 0]

    @property
    def reordered(self) -> int:
        """Recorded gaps whose skipped packets all arrived later (the sender or a relay reordered them)."""
        return sum(1 for g in self.gaps if g.kind == "gap" and g.missing <= 0)

    # ---- facts checks read ---------------------------------------------------------------------------------------
    @property
    def activity(self) -> list[Activity]:
        """The stream's runs of packets, split at silences longer than :data:`ACTIVITY_GAP`, in time order. At most
        :data:`MAX_ACTIVITY`: past that the last run is ``open_ended`` (it covers later silences too)."""
        runs = []
        ends = self._run_ends + [self.last_time]
        counts = [p for _t, _f, p in self._run_starts[1:]] + [self.packets]
        for (start, frame, before), end, after in zip(self._run_starts, ends, counts):
            runs.append(Activity(start, end, frame, after - before))
        if runs and self.activity_overflow:
            runs[-1] = Activity(runs[-1].start, runs[-1].end, runs[-1].first_frame, runs[-1].packets, True)
        return runs

    def packets_between(self, start: float, end: float) -> int:
        """Packets that arrived between ``start`` and ``end`` (to :data:`TIME_BUCKET`: buckets that begin inside)."""
        lo = max(0, math.ceil((start - self._bucket0) / TIME_BUCKET - 1e-9))
        hi = min(len(self.buckets), math.ceil((end - self._bucket0) / TIME_BUCKET - 1e-9))
        return sum(self.buckets[lo:hi]) if hi > lo else 0

    @property
    def payload_types(self) -> list[int]:
        return sorted(self.by_pt)

    @property
    def main_pt(self) -> int:
        """The payload type carrying most packets (the codec; events and comfort noise are fewer)."""
        return max(self.by_pt.values(), key=lambda s: s.packets).pt

    @property
    def confirmed(self) -> bool:
        """Real media rather than a stray datagram that happened to parse: a run of consecutive sequence numbers, or
        a destination some SDP in the capture announced."""
        return self.in_sequence >= 2 or self.sdp is not None

    def clock_rate(self, pt: int) -> int:
        if pt in STATIC_CLOCK:
            return STATIC_CLOCK[pt]
        mapped = self.sdp.rtpmap.get(pt) if self.sdp else None
        return mapped[1] if mapped else 8000

    def encoding(self, pt: int) -> str | None:
        mapped = self.sdp.rtpmap.get(pt) if self.sdp else None
        return mapped[0] if mapped else None

    @property
    def jitter_ms(self) -> float:
        """RFC 3550 interarrival jitter of the main payload type, in milliseconds."""
        stats = self.by_pt[self.main_pt]
        clock = self.clock_rate(stats.pt)
        return 1000.0 * stats.jitter_at(clock) / clock

    @property
    def lost(self) -> int:
        """Packets missing from the sequence (RFC 3550 A.3 cumulative loss, never negative), restarts excluded."""
        return max(0, self._missing)

    @property
    def expected(self) -> int:
        """Packets the sequence numbers say were sent (RFC 3550 A.3), restarts excluded."""
        return self.packets - self.duplicates + self.lost

    @property
    def payload_entropy(self) -> float:
        """Shannon entropy in bits per byte of the first payload bytes (encrypted payloads are close to 8)."""
        return self._entropy if self._entropy is not None else entropy(self._sample or b"")

    @property
    def entropy_sample_size(self) -> int:
        return ENTROPY_SAMPLE if self._sample is None else len(self._sample)

    @property
    def typical_payload_len(self) -> int:
        stats = self.by_pt[self.main_pt]
        return max(stats.sizes, key=stats.sizes.get) if stats.sizes else 0

    @property
    def looks_cleartext_g711(self) -> bool:
        """G.711 on the wire as plain audio: a static G.711 payload type, payloads a whole number of 10 ms frames (no
        authentication tag after them), and payload bytes far from random. SRTP's tag makes 160 bytes of 20 ms audio
        170 (HMAC-SHA1-80) or 164 (-32), and its encrypted bytes measure ~8 bits/byte."""
        if self.main_pt not in G711 or self.entropy_sample_size < 320:
            return False
        size = self.typical_payload_len
        return size > 0 and size % 80 == 0 and self.payload_entropy < RANDOM_ENTROPY


class MediaModel:
    """All RTP streams and RTCP flows of a capture. Feed it UDP datagrams in file order with :meth:`feed`; then
    :meth:`apply_sdp` with the SIP side's SDP bodies to attach negotiated facts and decode RFC 4733 events."""

    def __init__(self):
        self.streams: dict[tuple, RtpStream] = {}
        self.rtcp: dict[tuple, RtcpFlow] = {}
        self._pairs: dict[tuple, RtpStream] = {}     # (src, sport, dst, dport) -> latest stream, for version checks
        self.demuxed: dict[tuple, Demuxed] = {}      # (src, sport, dst, dport) -> STUN/ZRTP/DTLS/TURN taken off it
        self.demux_overflow = 0                      # such packets on 5-tuples past demux.MAX_TUPLES

    def feed(self, frame: int, when: float, interface: str | None, src: str, sport: int, dst: str, dport: int,
             payload: bytes) -> bool:
        """Take one UDP datagram; True when it was RTP or RTCP, or STUN, ZRTP, DTLS or TURN channel data on a media
        port (RFC 7983, see :mod:`sipqual.demux`; counted in :attr:`demuxed`, never fed to a stream), and is now
        accounted for."""
        kind = classify(payload, sport, dport)
        if kind == "rtp":
            ssrc = int.from_bytes(payload[8:12], "big")
            key = (src, sport, dst, dport, ssrc)
            stream = self.streams.get(key)
            if stream is None:
                stream = self.streams[key] = RtpStream(src, sport, dst, dport, ssrc, interface)
                self._pairs[key[:4]] = stream
            b0 = payload[0]
            hlen = 12 + 4 * (b0 & 0x0F)
            if b0 & 0x10:
                hlen += 4 + 4 * int.from_bytes(payload[hlen + 2:hlen + 4], "big")
            stream.add(frame, when, payload, hlen)
            return True
        if kind == "rtcp":
            key = (src, sport, dst, dport)
            flow = self.rtcp.get(key)
            if flow is None:
                flow = self.rtcp[key] = RtcpFlow(src, sport, dst, dport, interface)
            flow.add(frame, when, payload)
            return True
        pair = (src, sport, dst, dport)
        known = self._pairs.get(pair)
        other = first_byte_kind(payload) if media_ports(sport, dport) else None
        if other is not None and (known is not None or (dst, dport, src, sport) in self._pairs
                                  or well_formed(other, payload)):
            self._demux(pair, other, frame, when)
            return True
        if known is not None and payload and payload[0] >> 6 != 2 and len(known.bad_version) < MAX_GAPS:
            known.bad_version.append(frame)
        return False

    def _demux(self, pair: tuple, kind: str, frame: int, when: float) -> None:
        entry = self.demuxed.get(pair)
        if entry is None:
            if len(self.demuxed) >= MAX_TUPLES:
                self.demux_overflow += 1
                return
            entry = self.demuxed[pair] = Demuxed()
        entry.add(kind, frame, when)

    def demuxed_on(self, src: str, sport: int, dst: str, dport: int) -> list[tuple[tuple, Demuxed]]:
        """What RFC 7983 demultiplexing took off this address pair, in both directions: [(5-tuple, counts)]."""
        pairs = ((src, sport, dst, dport), (dst, dport, src, sport))
        return [(p, self.demuxed[p]) for p in pairs if p in self.demuxed]

    # ---- after the pass ------------------------------------------------------------------------------------------
    @property
    def rtp_streams(self) -> list[RtpStream]:
        return sorted(self.streams.values(), key=lambda s: (s.first_time, s.first_frame))

    @property
    def rtcp_flows(self) -> list[RtcpFlow]:
        return sorted(self.rtcp.values(), key=lambda f: (f.first_time, f.first_frame))

    @property
    def packets(self) -> int:
        return sum(s.packets for s in self.streams.values())

    def apply_sdp(self, offers: Iterable[tuple[int, float, Sdp]]) -> None:
        """Attach to each stream the receiver's SDP media section (the latest one announcing the stream's destination
        before it started, else the first after), then decode its RFC 4733 events: the telephone-event payload
        type from that SDP, or 101 (the Microsoft default) where no SDP describes the stream. Each RTCP flow gets
        the receiver's media section whose RTCP destination it is sent to (see :func:`rtcp_destinations`)."""
        by_dest: dict[tuple[str, int], list[SdpRef]] = {}
        by_rtcp: dict[tuple[str, int], list[SdpRef]] = {}
        for frame, when, sdp in sorted(offers, key=lambda o: o[1]):
            for media in sdp.media:
                conn = media.effective_connection
                if conn is None or media.port <= 0:
                    continue
                ref = SdpRef(frame, when, media)
                by_dest.setdefault((conn.address.split("/")[0], media.port), []).append(ref)
                for dest in rtcp_destinations(media):
                    by_rtcp.setdefault(dest, []).append(ref)
        dest_times = {dest: [r.time for r in refs] for dest, refs in by_dest.items()}
        rtcp_times = {dest: [r.time for r in refs] for dest, refs in by_rtcp.items()}
        for s in self.streams.values():
            key = (s.dst, s.dport)
            s.sdp = _latest(by_dest.get(key), dest_times.get(key), s.first_time)
            for pt in telephone_event_pts(s):
                s.events.extend(build_events(s, pt))
        for f in self.rtcp.values():
            key = (f.dst, f.dport)
            f.sdp = _latest(by_rtcp.get(key), rtcp_times.get(key), f.first_time)

    def events(self) -> list[DtmfEvent]:
        return sorted((e for s in self.streams.values() for e in s.events), key=lambda e: e.first_frame)


def _latest(refs: list[SdpRef] | None, times: list[float] | None, start: float) -> SdpRef | None:
    """The latest of ``refs`` (in time order, made at ``times``) made before ``start`` (with the slack), else the
    first one. One address may be announced thousands of times (an agent reusing its media port): bisect."""
    if not refs or not times:
        return None
    i = bisect_right(times, start + SDP_SLACK)
    return refs[i - 1] if i else refs[0]


def srtp_tag_len(media: Media) -> int | None:
    """Authentication tag length of the first crypto line's suite (RFC 4568 / RFC 3711), if the suite is known."""
    for c in media.crypto:
        if c.suite.upper() in SRTP_TAGS:
            return SRTP_TAGS[c.suite.upper()]
    return None


def srtp_trailers(media: Media) -> list[tuple[int, int]]:
    """(tag length, MKI length) of every crypto line of a known suite, in order, without repeats. The receiver's
    offer may list several lines (Lync: one with an MKI, one without) and the sender uses the one the answer
    accepted, so a stream fits its SDP when it fits one of them."""
    out: list[tuple[int, int]] = []
    for c in media.crypto:
        tag = SRTP_TAGS.get(c.suite.upper())
        value = (c.mki or "").partition(":")[2]
        pair = (tag, int(value) if value.isdigit() else 0)
        if tag is not None and pair not in out:
            out.append(pair)
    return out


def mki_len(media: Media) -> int:
    """MKI length in bytes from the first crypto line's ``|MKI:len`` (0 when there is no MKI)."""
    for c in media.crypto:
        if c.mki:
            value = c.mki.partition(":")[2]
            return int(value) if value.isdigit() else 0
        return 0
    return 0

