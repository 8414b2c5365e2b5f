"""Media the agents send: a raw G.711 tone file for SIPp's ``rtp_stream`` (which in 3.6.1 reads raw samples only)."""

from __future__ import annotations

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


def write_tone(path: Path, seconds: float = 3.0, freq: float = 440.0, level: int = 8000) -> Path:
    """Write ``seconds`` of a sine tone at 8 kHz as raw mu-law bytes (one RTP packet per 160 bytes)."""
    n = int(8000 * seconds)
    data = bytes(ulaw_byte(int(level * math.sin(2 * math.pi * freq * i / 8000))) for i in range(n))
    path.write_bytes(data)
    return path
