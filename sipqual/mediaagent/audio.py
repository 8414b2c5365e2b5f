"""Audio for the media agent: G.711 (ITU-T G.711 mu-law and A-law) encode/decode by table, a plain test tone,
DTMF tone pairs (ITU-T Q.23) and a Goertzel DTMF detector (ITU-T Q.24 style thresholds, simplified) that finds
in-band digits in what the agent receives, so a digit sent both as RFC 4733 events and as audio is caught."""

from __future__ import annotations

import math

SAMPLE_RATE = 8000
LOW = (697, 770, 852, 941)
HIGH = (1209, 1336, 1477, 1633)
KEYS = ("123A", "456B", "789C", "*0#D")
EVENT_DIGITS = "0123456789*#ABCD"          # RFC 4733 event codes 0-15
TONE_AMPLITUDE = 6000                        # per tone (about -11 dBm0 each): well inside Q.24 level limits
TEST_FREQ, TEST_AMPLITUDE = 440.0, 4000     # the "audio" the agent sends: one pure tone, never a DTMF pair


def digit_of(code: int) -> str:
    return EVENT_DIGITS[code] if 0 <= code < len(EVENT_DIGITS) else f"<{code}>"


def code_of(digit: str) -> int:
    return EVENT_DIGITS.index(digit.upper())


def freqs(digit: str) -> tuple[int, int]:
    for r, row in enumerate(KEYS):
        if digit.upper() in row:
            return LOW[r], HIGH[row.index(digit.upper())]
    raise ValueError(f"not a DTMF digit: {digit!r}")


# ---- G.711 ------------------------------------------------------------------------------------------------------
def _ulaw_decode(b: int) -> int:
    b = ~b & 0xFF
    t = ((b & 0x0F) << 3) + 0x84
    t <<= (b & 0x70) >> 4
    return (0x84 - t) if b & 0x80 else (t - 0x84)


def _alaw_decode(b: int) -> int:
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


def _ulaw_encode(sample: int) -> int:
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exp = max(0, sample.bit_length() - 8)
    exp = min(exp, 7)
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def _alaw_encode(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    if sample < 0:
        sample = -sample - 1
    sample = min(sample, 32767) >> 3           # 13-bit magnitude
    if sample < 32:
        code = sample >> 1
    else:
        exp = sample.bit_length() - 5
        code = (exp << 4) | ((sample >> exp) & 0x0F)
    return (sign | code) ^ 0x55


ULAW_DECODE = [_ulaw_decode(i) for i in range(256)]
ALAW_DECODE = [_alaw_decode(i) for i in range(256)]
_ULAW_ENC = bytes(_ulaw_encode(s) for s in range(-32768, 32768, 4))      # by sample >> 2
_ALAW_ENC = bytes(_alaw_encode(s) for s in range(-32768, 32768, 4))
SILENCE = {0: 0xFF, 8: 0xD5}


def encode(samples, pt: int) -> bytes:
    """Linear 16-bit samples to G.711 bytes (PT 0 mu-law, PT 8 A-law)."""
    table = _ULAW_ENC if pt == 0 else _ALAW_ENC
    return bytes(table[(max(-32768, min(32767, int(s))) + 32768) >> 2] for s in samples)


def decode(payload: bytes, pt: int) -> list[int]:
    table = ULAW_DECODE if pt == 0 else ALAW_DECODE
    return [table[b] for b in payload]


def tone_frame(freq_pairs: tuple, start: int, n: int, amplitude: float) -> list[float]:
    """``n`` samples from sample index ``start`` of the sum of sines at ``freq_pairs``."""
    w = [2 * math.pi * f / SAMPLE_RATE for f in freq_pairs]
    return [sum(amplitude * math.sin(wi * i) for wi in w) for i in range(start, start + n)]


class FrameSource:
    """Encoded 20 ms (or ``ptime``) frames of the test tone, a DTMF digit or silence, cached per kind."""

    def __init__(self, pt: int, samples: int):
        self.pt, self.samples = pt, samples
        self._cache: dict = {}

    def _frames(self, key, make):
        frames = self._cache.get(key)
        if frames is None:
            frames = self._cache[key] = make()
        return frames

    def audio(self, tick: int) -> bytes:
        # 440 Hz repeats every 200 samples: 10 distinct 160-sample frames cover every phase at 20 ms
        period = 50
        frames = self._frames("audio", lambda: [encode(tone_frame((TEST_FREQ,), k * self.samples, self.samples,
                                                                  TEST_AMPLITUDE), self.pt) for k in range(period)])
        return frames[tick % period]

    def dtmf(self, digit: str, k: int) -> bytes:
        period = 40   # DTMF pairs have no short common period: a 40-frame cycle (0.8 s) is seamless enough
        frames = self._frames(("dtmf", digit), lambda: [encode(tone_frame(freqs(digit), j * self.samples,
                                                                          self.samples, TONE_AMPLITUDE), self.pt)
                                                        for j in range(period)])
        return frames[k % period]

    def silence(self) -> bytes:
        return bytes([SILENCE.get(self.pt, 0xFF)]) * self.samples


# ---- Goertzel detection -------------------------------------------------------------------------------------------
class DtmfDetector:
    """Finds DTMF digits in a stream of decoded frames: per frame, the Goertzel power at the eight DTMF frequencies;
    a frame holds a digit when the strongest row and column tone each stand well above the other tones of their group
    and together carry most of the frame's energy, with twist under 8 dB. A digit is reported once it held for
    ``min_frames`` consecutive frames and counted again only after a frame without it."""

    def __init__(self, samples: int = 160, min_frames: int = 2):
        self.n = samples
        self.min_frames = min_frames
        self.coeffs = [(f, 2 * math.cos(2 * math.pi * f / SAMPLE_RATE)) for f in LOW + HIGH]
        self.digits: list[tuple[str, float]] = []     # (digit, time of its first frame)
        self._current: str | None = None
        self._run = 0
        self._since = 0.0
        self._reported = False

    def _power(self, samples: list[int], coeff: float) -> float:
        s1 = s2 = 0.0
        for x in samples:
            s1, s2 = x + coeff * s1 - s2, s1
        return s1 * s1 + s2 * s2 - coeff * s1 * s2

    def classify(self, samples: list[int]) -> str | None:
        energy = sum(x * x for x in samples)
        if energy < len(samples) * 400 ** 2:          # quieter than about -38 dBm0: no tone
            return None
        powers = [self._power(samples, c) for _f, c in self.coeffs]
        lo, hi = powers[:4], powers[4:]
        r, c = max(range(4), key=lo.__getitem__), max(range(4), key=hi.__getitem__)
        if any(p * 6.3 > lo[r] for i, p in enumerate(lo) if i != r) or \
                any(p * 6.3 > hi[c] for i, p in enumerate(hi) if i != c):
            return None                                # a second tone in a group within 8 dB: not DTMF
        if lo[r] > 6.3 * hi[c] or hi[c] > 6.3 * lo[r]:
            return None                                # twist beyond 8 dB
        # Goertzel power of a full-scale-ish sine of amplitude A over N samples is (A*N/2)^2; energy is N*A^2/2
        if (lo[r] + hi[c]) * 2 / len(samples) < 0.6 * energy:
            return None                                # most of the energy is elsewhere (speech, the test tone)
        return KEYS[r][c]

    def feed(self, samples: list[int], when: float) -> None:
        d = self.classify(samples)
        if d is not None and d == self._current:
            self._run += 1
        else:
            self._current, self._run, self._since, self._reported = d, 1 if d else 0, when, False
        if self._current and not self._reported and self._run >= self.min_frames:
            self.digits.append((self._current, self._since))
            self._reported = True

    @property
    def text(self) -> str:
        return "".join(d for d, _t in self.digits)
