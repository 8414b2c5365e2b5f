"""How fast an RTP stream's timestamps run, per payload type, read so that network timing cannot fake a clock fault.

The RTP timestamp counts samples (RFC 3550 5.1): from one packet to the next it advances by the samples the earlier
packet carried, which for G.711 is its payload size in bytes (one 8-bit sample per byte; 160 for 20 ms). That relation
is in the packets themselves: no relay buffering, burst, jitter or late sender changes it. So the clock is judged
from timestamp steps against sequence-number steps and payload sizes (:class:`ClockSteps` keeps a small histogram of
(timestamp step per sequence step, payload bytes of the earlier packet)), and :func:`read_steps` tells whether most
steps advance by the payload's samples.

Arrival times are a second, weaker signal: a relay that buffers 120 ms and then sends 7 packets within 0.1 ms, or a
sender catching up after a stall, makes "timestamp span / arrival span" read 8450 or 8800 per second on a stream whose
every step was exactly 160. So arrival time is only read over steady windows of :data:`WINDOW_S` seconds (no marker,
no sequence jump, no silence over :data:`WINDOW_GAP_S` inside), each window gives one rate, and only the median of at
least :data:`MIN_WINDOWS` windows is reported (:meth:`ClockSteps.arrival_rate`). A burst moves at most the two windows
it straddles, and the median ignores them. Everything is bounded: at most :data:`MAX_STEP_KINDS` step kinds and
:data:`MAX_WINDOWS` window rates per payload type (thinned evenly when full), whatever the length of the call.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from statistics import median

MAX_STEP_KINDS = 16          # distinct (step, size) pairs kept per payload type; others only counted
MAX_SEQ_STEP = 8             # a step across up to 7 lost packets is still read as timestamp step / sequence step
MIN_STEPS = 5                # fewer read steps than this say nothing about the clock
WINDOW_S = 5.0               # arrival-time windows for the secondary rate
WINDOW_GAP_S = 1.0           # an arrival gap longer than this (silence, hold) ends a steady window
MAX_WINDOWS = 64             # window rates kept per payload type (halved, evenly, when full)
MIN_WINDOWS = 3              # fewer steady windows than this give no arrival rate


class ClockSteps:
    """Timestamp facts of one payload type in one stream: a histogram of steps and a sample of steady-window rates.

    A step is read between two packets of this payload type with no other type's packet between them (an RFC 4733
    event or comfort noise in between has its own timing), a sequence step of 1..:data:`MAX_SEQ_STEP`, and no marker
    bit on the later packet (a talkspurt may start with a timestamp jump, RFC 3551 4.1)."""

    __slots__ = ("steps", "read", "uncounted", "prev_seq", "prev_ts", "prev_size", "prev_time", "win_time", "win_ts",
                 "windows", "stride", "seen_windows")

    def __init__(self):
        self.steps: dict[tuple[int, int], list[int]] = {}   # (step per sequence step, bytes before) -> [count, frame]
        self.read = 0                # steps read (all counted, also those past MAX_STEP_KINDS)
        self.uncounted = 0           # read steps of a kind that did not fit in ``steps``
        self.prev_seq = -1
        self.prev_ts = self.prev_size = 0
        self.prev_time = 0.0
        self.win_time: float | None = None
        self.win_ts = 0
        self.windows = array("d")
        self.stride = 1
        self.seen_windows = 0

    def add(self, frame: int, when: float, seq: int, ts: int, size: int, marker: bool, follows: bool) -> None:
        """One packet of this payload type; ``follows``: the stream's previous packet was of this type too."""
        steady = False
        if self.prev_seq >= 0 and follows and not marker:
            d = (seq - self.prev_seq) & 0xFFFF
            if 1 <= d <= MAX_SEQ_STEP:
                delta = (ts - self.prev_ts) & 0xFFFFFFFF
                delta -= (1 << 32) if delta >= 1 << 31 else 0
                key = (round(delta / d), self.prev_size)
                entry = self.steps.get(key)
                if entry is not None:
                    entry[0] += 1
                elif len(self.steps) < MAX_STEP_KINDS:
                    self.steps[key] = [1, frame]
                else:
                    self.uncounted += 1
                self.read += 1
                steady = delta > 0 and when - self.prev_time <= WINDOW_GAP_S
        self._window(when, ts, steady)
        self.prev_seq, self.prev_ts, self.prev_size, self.prev_time = seq, ts, size, when

    def _window(self, when: float, ts: int, steady: bool) -> None:
        if not steady or self.win_time is None:
            self.win_time, self.win_ts = when, ts      # (re)start a window at this packet
            return
        span = when - self.win_time
        if span >= WINDOW_S:
            self._keep(((ts - self.win_ts) & 0xFFFFFFFF) / span)
            self.win_time, self.win_ts = when, ts

    def _keep(self, rate: float) -> None:
        """Keep every ``stride``-th window rate; when full, drop every other one kept and double the stride."""
        index = self.seen_windows
        self.seen_windows += 1
        if index % self.stride:
            return
        if len(self.windows) >= MAX_WINDOWS:
            del self.windows[1::2]
            self.stride *= 2
            if index % self.stride:
                return
        self.windows.append(rate)

    def arrival_rate(self) -> tuple[float, int] | None:
        """(median timestamp units per second of arrival time over the kept steady windows, windows kept), or None
        with fewer than :data:`MIN_WINDOWS` of them."""
        if len(self.windows) < MIN_WINDOWS:
            return None
        return median(self.windows), len(self.windows)


@dataclass(frozen=True)
class StepReading:
    """What the steps of one payload type say: ``ok`` when most advance by the samples of the packet before them
    (payload bytes less ``overhead``, the SRTP tag and MKI); else the most frequent step, as ``step`` per ``size``
    bytes, and the clock it implies."""

    ok: bool
    step: int                    # timestamp units per sequence step (the most frequent matching one when ok)
    size: int                    # payload bytes of the packet before such a step
    overhead: int                # bytes of the payload that are not samples (SRTP tag + MKI)
    count: int                   # steps of this kind (when ok: all steps that matched their payload)
    read: int                    # steps read in all
    frame: int                   # first frame of such a step

    @property
    def samples(self) -> int:
        return self.size - self.overhead

    def clock(self, nominal: int) -> float | None:
        """The clock rate these steps imply for a payload type whose nominal rate is ``nominal``."""
        return nominal * self.step / self.samples if self.samples > 0 else None

    def same_anomaly(self, other: "StepReading | None") -> bool:
        """``other`` shows the same wrong step for the same samples (within 1 %)."""
        if other is None or other.ok or self.ok or self.samples <= 0 or other.samples <= 0:
            return False
        return abs(self.step / self.samples - other.step / other.samples) <= 0.01 * self.step / self.samples


def read_steps(clock: ClockSteps, overheads: tuple[int, ...] = (0,)) -> StepReading | None:
    """Judge the steps, trying each possible payload overhead (one for a known SRTP suite, several when unknown):
    held when at least half of the read steps advance by exactly the earlier packet's samples. None with fewer than
    :data:`MIN_STEPS` steps read."""
    if clock.read < MIN_STEPS:
        return None
    best = None
    for overhead in overheads:
        matching = [(v[0], v[1], step, size) for (step, size), v in clock.steps.items()
                    if step > 0 and step == size - overhead]
        count = sum(m[0] for m in matching)
        if best is None or count > best[0]:
            best = (count, overhead, matching)
    count, overhead, matching = best
    if 2 * count >= clock.read:
        top = max(matching, key=lambda m: m[0])
        return StepReading(True, top[2], top[3], overhead, count, clock.read, min(m[1] for m in matching))
    (step, size), (n, frame) = max(clock.steps.items(), key=lambda kv: (kv[1][0], -kv[1][1]))
    return StepReading(False, step, size, overhead, n, clock.read, frame)
