"""What shares a media port with RTP, told apart before anything is judged as RTP (RFC 7983, updating RFC 5764).

A media port may carry, besides RTP and RTCP, STUN (ICE connectivity checks and consent freshness, RFC 8445/7675),
DTLS (the DTLS-SRTP key exchange, RFC 5764), ZRTP (RFC 6189) and TURN channel data (RFC 8656). RFC 7983 section 7
demultiplexes them by the first byte:

    0-3 STUN | 16-19 ZRTP | 20-63 DTLS | 64-79 TURN channel | 128-191 RTP/RTCP

None of these is "RTP of another version", so none may reach an RTP stream's state or an RTP rule. A receiver applies
the ranges to what arrives on its media port; a capture holds every port, so here the first byte decides alone only on
an address pair already known to carry RTP (either direction), and elsewhere the packet must also have the protocol's
own structure (STUN: length and magic cookie; ZRTP: its "ZRTP" cookie; DTLS: a record walk that ends exactly at the
datagram's end; TURN: a channel-data length that fits). That keeps, say, a SIP request on an unusual UDP port (its
first letter is 65-85) from being taken for TURN. What was told apart is counted per 5-tuple (:class:`Demuxed`), for
a later ICE or DTLS check to use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STUN, ZRTP, DTLS, TURN = "STUN", "ZRTP", "DTLS", "TURN"
KINDS = (STUN, ZRTP, DTLS, TURN)
STUN_COOKIE = 0x2112A442              # RFC 5389 section 6
ZRTP_COOKIE = 0x5A525450              # "ZRTP", RFC 6189 section 5
CLASSIC_STUN = frozenset({0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112})   # RFC 3489 types (no cookie)
DTLS_VERSIONS = frozenset({0xFEFF, 0xFEFD, 0xFEFC})   # DTLS 1.0, 1.2, 1.3 record versions
MAX_TUPLES = 256                      # 5-tuples counted per capture; the rest only add to MediaModel.demux_overflow


def first_byte_kind(payload: bytes) -> str | None:
    """The RFC 7983 class of a datagram by its first byte, for what is not RTP/RTCP (128-191): STUN, ZRTP, DTLS,
    TURN, or None for a byte in no range (4-15, 80-127, 192-255)."""
    if not payload:
        return None
    b = payload[0]
    if b <= 3:
        return STUN
    if 16 <= b <= 19:
        return ZRTP
    if 20 <= b <= 63:
        return DTLS
    if 64 <= b <= 79:
        return TURN
    return None


def well_formed(kind: str, payload: bytes) -> bool:
    """The datagram has the structure of ``kind``, not just its first byte."""
    n = len(payload)
    if kind == STUN:
        if n < 20:
            return False
        length = int.from_bytes(payload[2:4], "big")
        if length % 4 or 20 + length != n:
            return False
        return int.from_bytes(payload[4:8], "big") == STUN_COOKIE or \
            int.from_bytes(payload[0:2], "big") in CLASSIC_STUN
    if kind == ZRTP:
        return n >= 12 and int.from_bytes(payload[4:8], "big") == ZRTP_COOKIE
    if kind == DTLS:
        off = 0
        while off + 13 <= n:          # content type, version, epoch, 48-bit sequence number, length
            if not 20 <= payload[off] <= 25 or int.from_bytes(payload[off + 1:off + 3], "big") not in DTLS_VERSIONS:
                return False
            off += 13 + int.from_bytes(payload[off + 11:off + 13], "big")
        return off == n and n > 0
    if kind == TURN:
        if n < 4:
            return False
        length = int.from_bytes(payload[2:4], "big")
        return 4 + length <= n and n - 4 - length < 4      # padded to 4 bytes at most
    return False


@dataclass
class Demuxed:
    """What RFC 7983 demultiplexing took off one 5-tuple (src, sport, dst, dport): packets per kind, first frame
    per kind, and the time span."""

    counts: dict[str, int] = field(default_factory=dict)
    first_frames: dict[str, int] = field(default_factory=dict)
    first_time: float = 0.0
    last_time: float = 0.0

    def add(self, kind: str, frame: int, when: float) -> None:
        if not self.counts:
            self.first_time = when
        if kind not in self.counts:
            self.counts[kind] = 0
            self.first_frames[kind] = frame
        self.counts[kind] += 1
        self.last_time = when

    @property
    def packets(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """e.g. "3 STUN, 2 DTLS"."""
        return ", ".join(f"{self.counts[k]} {k}" for k in KINDS if k in self.counts)
