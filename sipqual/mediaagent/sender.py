"""The send side of one stream: the plan (:mod:`.config`) turned into one RTP packet (or none) per ptime tick.

Timing: tick k is due at start + k * ptime and carries timestamp ts0 + k * samples whatever was sent before
(silence and pauses let the clock run on, RFC 3550 5.1); the sequence number advances by one per packet sent. The
first packet after a pause or silence, and the first of an event, carry the marker bit (RFC 3551 4.1, RFC 4733
2.5.1.1). An RFC 4733 event keeps the timestamp of its start, grows its duration by one ptime per packet, and ends
with three packets carrying the E bit and the final duration (RFC 4733 2.5.1.4); an event longer than the 16-bit
duration field is split into segments (2.5.1.3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import packets
from .audio import FrameSource, code_of
from .config import StreamConfig

END_PACKETS = 3


@dataclass
class SentCounts:
    rtp: int = 0
    octets: int = 0             # payload octets (RTCP SR sender's octet count)
    audio: int = 0
    cn: int = 0
    quiet: int = 0
    tones: int = 0
    event_packets: int = 0
    events: list[dict] = field(default_factory=list)    # {digit, ts, duration, end_packets}
    tone_digits: str = ""


class Sender:
    def __init__(self, cfg: StreamConfig):
        self.cfg = cfg
        self.seq = cfg.seq0
        self.counts = SentCounts()
        self.frames = FrameSource(cfg.pt, cfg.samples)
        self.last_ts = cfg.ts0
        self.set_plan(cfg.plan, 0)
        self._prev_silent = True        # the first packet of the stream is a talkspurt start (marker)

    def set_plan(self, plan: list[dict], tick: int) -> None:
        """Expand the plan into per-tick actions from ``tick`` on."""
        ptime = self.cfg.ptime
        steps: list[tuple] = []
        for seg in plan:
            kind = seg["kind"]
            if kind in ("digits", "tones"):
                ticks = max(1, round(float(seg.get("ms", 100)) / ptime))
                gap = max(0, round(float(seg.get("gap_ms", 60)) / ptime))
                for d in seg.get("digits", ""):
                    steps.append((kind, d, ticks, int(seg.get("volume", 10))))
                    if gap:
                        steps.append(("quiet" if kind == "tones" else "audio", None, gap, 0))
            else:
                steps.append((kind, None, max(0, round(float(seg.get("seconds", 1)) * 1000 / ptime)), 0))
        self.steps = [s for s in steps if s[2] > 0]
        self.step_index, self.step_tick, self.plan_start = 0, 0, tick
        self._event = None       # (code, ts, ticks, volume, tick within event, segment start tick)

    def _action(self) -> tuple:
        while self.step_index < len(self.steps):
            kind, digit, ticks, volume = self.steps[self.step_index]
            extra = END_PACKETS if kind == "digits" else 0
            if self.step_tick < ticks + extra:
                return kind, digit, ticks, volume, self.step_tick
            self.step_index += 1
            self.step_tick = 0
        return self.cfg.after, None, 0, 0, self.step_tick

    def tick(self, k: int) -> bytes | None:
        """The RTP packet (plain) for tick ``k``, or None when nothing is sent at this tick."""
        cfg = self.cfg
        ts = (cfg.ts0 + k * cfg.samples) & 0xFFFFFFFF
        kind, digit, ticks, volume, i = self._action()
        self.step_tick += 1
        if kind == "digits":
            return self._event_packet(digit, ts, ticks, volume, i)
        if kind == "pause" or (kind == "silence" and cfg.cn_pt is None):
            self._prev_silent = True
            return None
        if kind == "silence":
            every = max(1, cfg.cn_ms // cfg.ptime)
            if i % every:
                self._prev_silent = True
                return None
            self.counts.cn += 1
            return self._packet(cfg.cn_pt, ts, packets.comfort_noise(), marker=False, silent=True)
        if kind == "tones":
            if i == 0:
                self.counts.tone_digits += digit
            self.counts.tones += 1
            return self._packet(cfg.pt, ts, self.frames.dtmf(digit, i))
        if kind == "quiet":
            self.counts.quiet += 1
            return self._packet(cfg.pt, ts, self.frames.silence())
        self.counts.audio += 1
        return self._packet(cfg.pt, ts, self.frames.audio(k))

    def _packet(self, pt: int, ts: int, payload: bytes, marker: bool | None = None, silent: bool = False) -> bytes:
        if marker is None:
            marker = self._prev_silent
        self._prev_silent = silent
        pkt = packets.rtp(pt, self.seq, ts, self.cfg.ssrc, payload, marker)
        self.seq = (self.seq + 1) & 0xFFFF
        self.counts.rtp += 1
        self.counts.octets += len(payload)
        self.last_ts = ts
        return pkt

    def _event_packet(self, digit: str, ts: int, ticks: int, volume: int, i: int) -> bytes | None:
        cfg = self.cfg
        if cfg.te_pt is None:            # the peer offered no telephone-event: fall back to in-band tones
            if i >= ticks:
                return None
            if i == 0:
                self.counts.tone_digits += digit
            self.counts.tones += 1
            return self._packet(cfg.pt, ts, self.frames.dtmf(digit, i))
        if i == 0:
            self._event = {"digit": digit, "ts": ts, "seg_start": 0, "duration": 0, "end_packets": 0,
                           "segments": 1}
            self.counts.events.append(self._event)
        ev = self._event
        marker = i == 0
        if i < ticks:
            duration = (i + 1 - ev["seg_start"]) * cfg.samples
            if duration > 0xFFFF:        # RFC 4733 2.5.1.3: a new segment, new timestamp, no marker
                ev["seg_start"], ev["ts"] = i, ts
                ev["segments"] += 1
                duration = cfg.samples
            end = False
        else:
            duration = (ticks - ev["seg_start"]) * cfg.samples
            end = True
            ev["end_packets"] += 1
        ev["duration"] = duration
        self.counts.event_packets += 1
        self._prev_silent = False
        payload = packets.event(code_of(digit), end, volume, duration)
        return self._packet(cfg.te_pt, ev["ts"], payload, marker=marker)
