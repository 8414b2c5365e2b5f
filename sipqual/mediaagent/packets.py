"""Packets the media agent builds: RTP (RFC 3550 section 5.1), RFC 4733 telephone-event payloads, RFC 3389
comfort noise, and RTCP compound packets (RFC 3550 section 6: SR or RR first, then SDES with CNAME, BYE last).
Parsing what arrives is :mod:`sipqual.rtp` / :mod:`sipqual.rtcp`'s job (the passive analysis' own parsers)."""

from __future__ import annotations

import struct
import time

NTP_EPOCH = 2208988800          # seconds from 1900 to 1970
RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE = 200, 201, 202, 203


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def event(code: int, end: bool, volume: int, duration: int) -> bytes:
    """RFC 4733 section 2.3: event, E bit, reserved 0, volume (-dBm0, 0-63), 16-bit duration in timestamp units."""
    return struct.pack("!BBH", code, (0x80 if end else 0) | (volume & 0x3F), min(duration, 0xFFFF))


def comfort_noise(level: int = 70) -> bytes:
    """RFC 3389 section 3: one byte, the noise level in -dBov (0-127); no spectral information."""
    return bytes([level & 0x7F])


def ntp_now(now: float | None = None) -> tuple[int, int]:
    t = time.time() if now is None else now
    sec = int(t)
    return sec + NTP_EPOCH, int((t - sec) * (1 << 32)) & 0xFFFFFFFF


def _pad(body: bytes) -> bytes:
    return body + b"\0" * (-len(body) % 4)


def _header(count: int, ptype: int, body_len: int) -> bytes:
    return struct.pack("!BBH", 0x80 | count, ptype, (body_len + 4) // 4 - 1)


def report_block(ssrc: int, fraction: int, lost: int, ext_max: int, jitter: int, lsr: int, dlsr: int) -> bytes:
    """RFC 3550 section 6.4.1 report block: cumulative loss is a signed 24-bit value."""
    lost = max(-0x800000, min(0x7FFFFF, lost)) & 0xFFFFFF
    return struct.pack("!IIIIII", ssrc, (fraction & 0xFF) << 24 | lost, ext_max & 0xFFFFFFFF,
                       jitter & 0xFFFFFFFF, lsr & 0xFFFFFFFF, dlsr & 0xFFFFFFFF)


def sender_report(ssrc: int, rtp_ts: int, packets: int, octets: int, blocks: list[bytes],
                  now: float | None = None) -> bytes:
    sec, frac = ntp_now(now)
    body = struct.pack("!IIIIII", ssrc, sec, frac, rtp_ts & 0xFFFFFFFF, packets & 0xFFFFFFFF,
                       octets & 0xFFFFFFFF) + b"".join(blocks[:31])
    return _header(len(blocks[:31]), RTCP_SR, len(body)) + body


def receiver_report(ssrc: int, blocks: list[bytes]) -> bytes:
    body = struct.pack("!I", ssrc) + b"".join(blocks[:31])
    return _header(len(blocks[:31]), RTCP_RR, len(body)) + body


def sdes_cname(ssrc: int, cname: str) -> bytes:
    text = cname.encode()[:255]
    body = _pad(struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\0")   # item list ends with a zero octet
    return _header(1, RTCP_SDES, len(body)) + body


def bye(ssrc: int) -> bytes:
    body = struct.pack("!I", ssrc)
    return _header(1, RTCP_BYE, len(body)) + body


def sr_fields(payload: bytes) -> list[tuple[int, int]]:
    """(SSRC, middle 32 bits of the NTP timestamp) of every SR in a plain RTCP compound, for LSR/DLSR."""
    out, off, n = [], 0, len(payload)
    for _ in range(32):
        if off + 4 > n or payload[off] >> 6 != 2:
            break
        length = (int.from_bytes(payload[off + 2:off + 4], "big") + 1) * 4
        if payload[off + 1] == RTCP_SR and off + 16 <= n:
            ssrc, sec, frac = struct.unpack_from("!III", payload, off + 4)
            out.append((ssrc, ((sec & 0xFFFF) << 16) | (frac >> 16)))
        off += length
    return out
