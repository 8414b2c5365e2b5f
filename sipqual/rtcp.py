"""RTCP in the media model: one :class:`RtcpFlow` per direction between two transport addresses, with its compound
packets' structure (SR/RR first, SDES CNAME, BYE), its longest silence and the tail bytes of its first compounds
(where an SRTCP trailer would be), plus where an SDP media section's RTCP goes (:func:`rtcp_destinations`) and what
SRTCP trailer its a=crypto lines ask for (:func:`srtcp_trailers`). Fed by :class:`sipqual.rtp.MediaModel`; memory is
bounded per flow (:data:`MAX_RTCP_TAILS` tails, :data:`MAX_BYES` BYEs, 16 SSRCs and CNAMEs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .sdp import Media

if TYPE_CHECKING:
    from .rtp import SdpRef

MAX_RTCP_TAILS = 64          # RTCP compounds per flow whose tail bytes are kept (SRTCP trailer check)
RTCP_TAIL = 32               # bytes kept from the end of each of those compounds
MAX_BYES = 16                # RTCP BYE packets kept per flow (the last one always)
MAX_RTCP_TIMES = 4096        # compound arrival times kept per flow (a 5 s interval: more than 5 hours)
RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE, RTCP_APP = 200, 201, 202, 203, 204
SDES_CNAME = 1
SRTP_TAGS = {"AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4, "AES_256_CM_HMAC_SHA1_80": 10,
             "AES_256_CM_HMAC_SHA1_32": 4, "AES_192_CM_HMAC_SHA1_80": 10, "AES_192_CM_HMAC_SHA1_32": 4,
             "F8_128_HMAC_SHA1_80": 10}


@dataclass(frozen=True)
class RtcpTail:
    """The end of one RTCP compound as sent: where an SRTCP trailer (E flag and index, MKI, tag) would be."""

    frame: int
    length: int
    tail: bytes                 # the last RTCP_TAIL bytes (all of them for a shorter compound)
    ends: tuple[int, ...]       # offsets where an RTCP packet of the compound ended, as walked from its start
    parsed: bool                # the walk ended exactly at the end: the whole compound reads as plain RTCP

    def word_before(self, trailer: int) -> int | None:
        """The 32-bit word ``trailer`` bytes before the end (an SRTCP E flag || index), if it was kept."""
        if trailer > len(self.tail) or trailer < 4:
            return None
        at = len(self.tail) - trailer
        return int.from_bytes(self.tail[at:at + 4], "big")


class RtcpFlow:
    """RTCP in one direction between two transport addresses: compound packets and what they were made of."""

    def __init__(self, src: str, sport: int, dst: str, dport: int, interface: str | None):
        self.src, self.sport, self.dst, self.dport, self.interface = src, sport, dst, dport, interface
        self.compounds = 0
        self.first_frame = self.last_frame = 0
        self.first_time = self.last_time = 0.0
        self.types: dict[int, int] = {}
        self.ssrcs: set[int] = set()
        self.cnames: set[str] = set()
        self.opaque = 0                    # compounds that do not parse past the first packet: SRTCP or malformed
        self.bad_start: int | None = None  # first frame whose compound does not start with SR or RR
        self.no_cname: int | None = None   # first frame of a readable compound without SDES CNAME
        self.bye_frame: int | None = None
        self.byes: list[tuple[int, float, tuple[int, ...]]] = []   # (frame, time, SSRCs named) of BYE packets
        self.max_gap = 0.0
        self.max_gap_frame: int | None = None
        self.max_gap_end = 0.0             # time of the compound that ended the longest gap
        self.times: list[float] = []       # arrival time of each compound, the first MAX_RTCP_TIMES (TC-HLD-04)
        # the first compounds' (frame, length, last RTCP_TAIL bytes, offsets where a packet of the compound ends,
        # whether the whole compound parsed as RTCP): enough to check an SRTCP trailer once the SDP is known
        self.tails: list[RtcpTail] = []
        self.sdp: SdpRef | None = None     # the receiver's SDP media section (see MediaModel.apply_sdp)

    @property
    def key(self) -> tuple[str, int, str, int]:
        return self.src, self.sport, self.dst, self.dport

    def add(self, frame: int, when: float, payload: bytes) -> None:
        if self.compounds == 0:
            self.first_frame, self.first_time = frame, when
        elif when - self.last_time > self.max_gap:
            self.max_gap, self.max_gap_frame, self.max_gap_end = when - self.last_time, frame, when
        self.compounds += 1
        self.last_frame, self.last_time = frame, when
        if len(self.times) < MAX_RTCP_TIMES:
            self.times.append(when)
        if payload[1] not in (RTCP_SR, RTCP_RR) and self.bad_start is None:
            self.bad_start = frame
        if len(payload) >= 8 and len(self.ssrcs) < 16:
            self.ssrcs.add(int.from_bytes(payload[4:8], "big"))
        off, n, cname = 0, len(payload), False
        ends: list[int] = []
        while off + 4 <= n:
            if payload[off] >> 6 != 2:
                break
            ptype, length = payload[off + 1], (int.from_bytes(payload[off + 2:off + 4], "big") + 1) * 4
            if off + length > n:
                break
            self.types[ptype] = self.types.get(ptype, 0) + 1
            if ptype == RTCP_SDES:
                cname = self._sdes(payload[off + 4:off + length], payload[off] & 0x1F) or cname
            elif ptype == RTCP_BYE:
                self._bye(frame, when, payload[off + 4:off + 4 + 4 * min(payload[off] & 0x1F, (length - 4) // 4)])
            off += length
            if len(ends) < 16:
                ends.append(off)
        if off != n:
            self.opaque += 1
        elif not cname and self.no_cname is None:
            self.no_cname = frame
        if len(self.tails) < MAX_RTCP_TAILS:
            self.tails.append(RtcpTail(frame, n, bytes(payload[-RTCP_TAIL:]), tuple(ends), off == n))

    def _bye(self, frame: int, when: float, ssrcs: bytes) -> None:
        if self.bye_frame is None:
            self.bye_frame = frame
        entry = (frame, when, tuple(int.from_bytes(ssrcs[i:i + 4], "big") for i in range(0, len(ssrcs), 4)))
        if len(self.byes) < MAX_BYES:
            self.byes.append(entry)
        else:
            self.byes[-1] = entry

    def _sdes(self, body: bytes, chunks: int) -> bool:
        """Walk SDES chunks (SSRC, then items until a zero type, padded to 32 bits); True if a CNAME was there."""
        off, found = 0, False
        for _ in range(chunks):
            off += 4
            while off < len(body) and body[off] != 0:
                if off + 2 > len(body):
                    return found
                itype, ilen = body[off], body[off + 1]
                if itype == SDES_CNAME:
                    found = True
                    if len(self.cnames) < 16:
                        self.cnames.add(body[off + 2:off + 2 + ilen].decode("utf-8", "replace"))
                off += 2 + ilen
            off = (off + 4) & ~3     # the terminating zero, then padding to the next 32-bit boundary
        return found


def rtcp_destinations(media: Media) -> list[tuple[str, int]]:
    """Where RTCP for an SDP media section is sent: the RTP port + 1 (RFC 3550 section 11), the RTP port itself
    with ``a=rtcp-mux`` (RFC 5761), and the ``a=rtcp:`` port and address (RFC 3605)."""
    conn = media.effective_connection
    if conn is None or media.port <= 0:
        return []
    addr = conn.address.split("/")[0]
    dests = [(addr, media.port + 1)]
    if media.has_attribute("rtcp-mux"):
        dests.append((addr, media.port))
    for value in media.attribute_values("rtcp"):
        parts = (value or "").split()
        if parts and parts[0].isdigit():
            dests.append((parts[3] if len(parts) >= 4 else addr, int(parts[0])))
    return list(dict.fromkeys(dests))


def srtcp_trailers(media: Media) -> list[tuple[int, int, bool, str]]:
    """Per ``a=crypto`` line with a known suite (RFC 4568): (tag length, MKI length, E flag expected, suite). The E
    flag is clear only with the ``UNENCRYPTED_SRTCP`` session parameter (RFC 4568 section 6.3.2)."""
    found = []
    for c in media.crypto:
        tag = SRTP_TAGS.get(c.suite.upper())
        if tag is None:
            continue
        mki = c.mki.partition(":")[2] if c.mki else ""
        encrypted = "UNENCRYPTED_SRTCP" not in {p.upper() for p in c.session_params}
        entry = (tag, int(mki) if mki.isdigit() else 0, encrypted, c.suite.upper())
        if entry not in found:
            found.append(entry)
    return found
