"""RFC 4733 telephone events in a stream: the candidate packets :class:`sipqual.rtp.RtpStream` keeps, grouped
into events by their shared RTP timestamp, and the payload types that carry them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rtp import RtpStream


@dataclass
class DtmfEvent:
    """One RFC 4733 event: all packets sharing one RTP timestamp on a telephone-event payload type."""

    stream: RtpStream
    pt: int
    ts: int
    code: int
    first_frame: int
    first_time: float
    marker_first: bool
    frames: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)
    end_frames: list[int] = field(default_factory=list)
    end_cleared_frame: int | None = None      # a packet without E after one with E (RFC 4733 2.5.1.4)
    markers_later: list[int] = field(default_factory=list)   # frames of marked packets after the first

    @property
    def duration(self) -> int:
        return max(self.durations) if self.durations else 0

    @property
    def end_count(self) -> int:
        return len(self.end_frames)

    @property
    def duration_regressions(self) -> list[int]:
        """Frames where the duration went down within the event (it must only grow)."""
        return [self.frames[i] for i in range(1, len(self.durations)) if self.durations[i] < self.durations[i - 1]]


def in_sequence_order(packets: list[tuple]) -> list[tuple]:
    """Event packets ``(frame, when, seq, ...)`` in RTP sequence-number order (wrap-aware), as a receiver's jitter
    buffer plays them: a network element that swaps two packets sent back to back (a relay's threads, a loaded
    sender's burst) changes nothing a receiver sees, so durations and markers are judged in this order."""
    out, ext, last = [], 0, None
    for p in packets:
        seq = p[2]
        if last is not None:
            delta = (seq - last) & 0xFFFF
            ext += delta - 0x10000 if delta >= 0x8000 else delta
        last = seq
        out.append((ext, len(out), p))
    return [p for _ext, _i, p in sorted(out)]


def build_events(stream: RtpStream, pt: int) -> list[DtmfEvent]:
    """Group a stream's candidate packets of ``pt`` into RFC 4733 events by their shared timestamp, each event's
    packets in sequence-number order (:func:`in_sequence_order`)."""
    events: dict[int, DtmfEvent] = {}
    for frame, when, _seq, ts, marker, p, body in in_sequence_order([q for q in stream.event_packets
                                                                     if q[5] == pt]):
        code, flags, duration = body[0], body[1], int.from_bytes(body[2:4], "big")
        end = bool(flags & 0x80)
        ev = events.get(ts)
        if ev is None:
            ev = events[ts] = DtmfEvent(stream, pt, ts, code, frame, when, marker)
        elif marker:
            ev.markers_later.append(frame)
        if ev.end_frames and not end and ev.end_cleared_frame is None:
            ev.end_cleared_frame = frame
        ev.frames.append(frame)
        ev.durations.append(duration)
        ev.codes.add(code)
        if end:
            ev.end_frames.append(frame)
    return sorted(events.values(), key=lambda e: e.first_frame)


def telephone_event_pts(stream: RtpStream) -> list[int]:
    if stream.sdp is None:
        return [101] if any(p[5] == 101 for p in stream.event_packets) else []
    return [pt for pt, (enc, _clock, _ch) in stream.sdp.rtpmap.items() if enc.lower() == "telephone-event"]
