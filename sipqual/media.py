"""Media the agents send: a raw G.711 tone file for SIPp's ``rtp_stream`` (which in 3.6.1 reads raw samples only)."""

from __future__ import annotations

import functools
import math
from pathlib import Path

_BIAS, _CLIP = 0x84, 32635


def ulaw_byte(sample: int) -> int:
    """Encode one 16-bit linear sample as G.711 mu-law (ITU-T G.711 segment encoding)."""
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), _CLIP) + _BIAS
    exponent = max(0, sample.bit_length() - 8)
    exponent = min(exponent, 7)
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def alaw_byte(sample: int) -> int:
    """Encode one 16-bit linear sample as G.711 A-law (ITU-T G.711: 13-bit magnitude, even bits inverted)."""
    value = sample >> 3
    mask = 0xD5 if value >= 0 else 0x55
    if value < 0:
        value = -value - 1
    seg = next((i for i, end in enumerate(_ALAW_SEG_END) if value <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    mantissa = (value >> 1) & 0x0F if seg < 2 else (value >> seg) & 0x0F
    return ((seg << 4) | mantissa) ^ mask


def write_tone(path: Path, seconds: float = 3.0, freq: float = 440.0, level: int = 8000, law: str = "ulaw") -> Path:
    """Write ``seconds`` of a sine tone at 8 kHz as raw G.711 bytes, mu-law (PT 0) or A-law (``law="alaw"``, PT 8);
    one RTP packet per 160 bytes."""
    path.write_bytes(_tone(seconds, freq, level, law))
    return path


@functools.lru_cache(maxsize=8)
def _tone(seconds: float, freq: float, level: int, law: str) -> bytes:
    """The tone's bytes, computed once per process (every agent of every case writes the same two files)."""
    encode = alaw_byte if law == "alaw" else ulaw_byte
    return bytes(encode(int(level * math.sin(2 * math.pi * freq * i / 8000))) for i in range(int(8000 * seconds)))
