"""SRTP and SRTCP authentication from a capture (RFC 3711), with the SDES keys of the SDP (RFC 4568).

With SDES each side's ``a=crypto`` line carries the master key and salt *it* encrypts with (RFC 4568 section 6.1):
what the DUT sends on a stream is authenticated with the key of the DUT's own SDP (the line of the tag the answer
accepted). :func:`verify_flow` reads the capture's UDP datagrams from one address to one port and hands each to
libsrtp (``pylibsrtp``; no cryptography is written here), so "the DUT sent SRTP a Mediation Server can decrypt" is a
fact of the capture: every packet authenticated, or the first one that is not, with why (cleartext RTP where SRTP
was negotiated, a wrong key or tag, a replayed index).

The MKI (``|MKI:len`` in the key parameters, RFC 4568 section 9.2; between the encrypted part and the tag, RFC 3711
section 3.1) is not authenticated: it is taken out of each packet before libsrtp sees it, and its length checked.

Keys are secrets of the lab's own test session (as the TLS key logs are): the capture holds them in its SDP, but
findings never print them; :func:`key_id` names a key by a short SHA-256 fingerprint instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .pcapread import read_blocks, udp_datagram
from .sdp import Crypto

MAX_PACKETS = 3000       # per flow: a minute of 20 ms packets; enough to judge, bounded in time

try:                     # declared in pyproject; imported lazily so a missing wheel is an ERROR, not an import crash
    import pylibsrtp
except ImportError:      # pragma: no cover
    pylibsrtp = None

# suite -> (libsrtp profile attribute, tag length, key||salt length); the suites libsrtp's pylibsrtp binding offers
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": ("SRTP_PROFILE_AES128_CM_SHA1_80", 10, 30),
    "AES_CM_128_HMAC_SHA1_32": ("SRTP_PROFILE_AES128_CM_SHA1_32", 4, 30),
}


class SrtpUnavailable(Exception):
    """libsrtp (pylibsrtp) cannot be loaded: authentication cannot be judged (ERROR, not FAIL)."""


def key_id(key: bytes) -> str:
    """A printable name for a master key||salt that does not disclose it."""
    return "key#" + hashlib.sha256(key).hexdigest()[:8]


def key_of(crypto: Crypto) -> bytes | None:
    """The master key||salt of an ``inline:`` crypto line, or None when it is not valid base64 of the suite's
    length (RFC 4568 section 6.1; RFC4568-01 judges the line itself)."""
    suite = SUITES.get(crypto.suite.upper())
    if suite is None or not crypto.key:
        return None
    try:
        key = base64.b64decode(crypto.key, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == suite[2] else None


def mki_length(crypto: Crypto) -> int:
    """MKI length in bytes from ``|MKI:len`` (0 without MKI)."""
    value = (crypto.mki or "").partition(":")[2]
    return int(value) if value.isdigit() else 0


@dataclass
class FlowAuth:
    """What libsrtp made of one flow (one sender address to one destination port)."""

    kind: str                    # "SRTP" or "SRTCP"
    src: str
    dst: str
    dport: int
    suite: str
    key: str                     # key_id() of the key tried
    mki_len: int
    packets: int = 0
    authenticated: int = 0
    replayed: int = 0            # index seen before (a packet captured twice, or a sender's replay)
    cleartext: int = 0           # failed and shaped like plain RTP/RTCP (no room for a tag)
    failed: int = 0              # failed otherwise (wrong key, corrupted tag, wrong MKI)
    first_frame: int | None = None
    first_bad: tuple[int, str] | None = None     # (frame, why) of the first packet that did not authenticate
    ssrcs: set[int] = field(default_factory=set)
    mki_values: set[int] = field(default_factory=set)   # the MKI fields seen (with an MKI negotiated)
    truncated: bool = False      # stopped at MAX_PACKETS

    @property
    def ok(self) -> bool:
        return self.packets > 0 and self.authenticated > 0 and not (self.cleartext or self.failed)

    def summary(self) -> str:
        s = (f"{self.kind} {self.src} -> {self.dst}:{self.dport} ({self.suite}, {self.key}"
             + (f", {self.mki_len}-byte MKI" if self.mki_len else "") + f"): {self.authenticated} of {self.packets} "
             "packets authenticated")
        if self.cleartext:
            s += f", {self.cleartext} cleartext"
        if self.failed:
            s += f", {self.failed} failing authentication"
        if self.replayed:
            s += f", {self.replayed} replayed"
        return s + (" (first packets only)" if self.truncated else "")


def _rtp_header_len(p: bytes) -> int | None:
    if len(p) < 12 or p[0] >> 6 != 2:
        return None
    n = 12 + 4 * (p[0] & 0x0F)
    if p[0] & 0x10:
        if len(p) < n + 4:
            return None
        n += 4 + 4 * int.from_bytes(p[n + 2:n + 4], "big")
    return n if n <= len(p) else None


def _looks_clear_rtp(p: bytes) -> bool:
    """Plain G.711 RTP: PT 0 or 8 and a payload of whole 10 ms frames, no room for a tag."""
    n = _rtp_header_len(p)
    return n is not None and (p[1] & 0x7F) in (0, 8) and (len(p) - n) > 0 and (len(p) - n) % 80 == 0


def _looks_clear_rtcp(p: bytes) -> bool:
    """Plain RTCP: the compound's packet lengths add up to exactly the datagram (no trailer after them)."""
    off = 0
    while off + 4 <= len(p):
        if p[off] >> 6 != 2 or not 192 <= p[off + 1] <= 223:
            return False
        off += 4 * (int.from_bytes(p[off + 2:off + 4], "big") + 1)
    return off == len(p)


def _session(key: bytes, suite: str):
    if pylibsrtp is None:
        raise SrtpUnavailable("pylibsrtp (libsrtp2) is not installed: SRTP authentication cannot be checked")
    policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                              srtp_profile=getattr(pylibsrtp.Policy, SUITES[suite][0]))
    policy.window_size = 1024
    return pylibsrtp.Session(policy)


def udp_flow(path: Path, src: str, dst: str, dport: int, limit: int = MAX_PACKETS):
    """(frame, payload) of the UDP datagrams from ``src`` to ``dst``:``dport`` in file order, at most ``limit``."""
    n = 0
    with Path(path).open("rb") as f:
        for block in read_blocks(f):
            if block.frame is None:
                continue
            dg = udp_datagram(block.frame)
            if dg is None or dg.dport != dport or dg.src != src or dg.dst != dst:
                continue
            yield block.frame.number, dg.payload
            n += 1
            if n >= limit:
                return


def verify_flow(path: Path, src: str, dst: str, dport: int, crypto: Crypto, rtcp: bool = False,
                limit: int = MAX_PACKETS, after_frame: int = 0) -> FlowAuth | None:
    """Authenticate (and decrypt) every packet of one flow with the key of ``crypto`` (only those after frame
    ``after_frame``: the packets of a key a re-INVITE brought, TC-SRTP-06). None when the suite is not one libsrtp
    offers here or the line holds no valid key (nothing can be judged with it)."""
    suite = crypto.suite.upper()
    key = key_of(crypto)
    if key is None:
        return None
    tag, mki = SUITES[suite][1], mki_length(crypto)
    res = FlowAuth("SRTCP" if rtcp else "SRTP", src, dst, dport, suite, key_id(key), mki)
    session = _session(key, suite)
    seen: set[bytes] = set()
    for frame, data in udp_flow(path, src, dst, dport, limit + 1 + (MAX_PACKETS if after_frame else 0)):
        if frame <= after_frame:
            continue
        if res.packets >= limit:
            res.truncated = True
            break
        res.packets += 1
        res.first_frame = res.first_frame or frame
        if len(data) >= 8:
            res.ssrcs.add(int.from_bytes(data[4:8] if rtcp else data[8:12], "big"))
        if data in seen:
            res.replayed += 1        # the same bytes twice (captured twice, or sent twice): not a new packet
            continue
        seen.add(data)
        packet = data
        if mki and len(data) > tag + mki:
            res.mki_values.add(int.from_bytes(data[len(data) - tag - mki:len(data) - tag], "big"))
            packet = data[:len(data) - tag - mki] + data[len(data) - tag:]
        try:
            session.unprotect_rtcp(packet) if rtcp else session.unprotect(packet)
            res.authenticated += 1
            continue
        except pylibsrtp.Error as e:
            why = str(e)
        if "replay" in why:
            res.replayed += 1
            continue
        clear = _looks_clear_rtcp(data) if rtcp else _looks_clear_rtp(data)
        if clear:
            res.cleartext += 1
            why = "cleartext " + ("RTCP (the compound fills the datagram, no SRTCP trailer)" if rtcp else
                                  f"RTP ({len(data)} bytes: header and whole G.711 frames, no tag)")
        else:
            res.failed += 1
            why = f"libsrtp: {why} ({len(data)} bytes)"
        if res.first_bad is None:
            res.first_bad = (frame, why)
    return res
