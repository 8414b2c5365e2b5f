"""SRTP/SRTCP for the media agent through libsrtp2 (pylibsrtp): SDES keys from ``a=crypto`` (RFC 4568), the
AES_CM_128_HMAC_SHA1_80 and _32 suites, MKI, re-keying. No cryptography is written here.

MKI: pylibsrtp 1.0 does not expose libsrtp's MKI API, but RFC 3711 (sections 3.1 and 3.4) puts the MKI outside the
authenticated portion, between the encrypted part (for SRTCP: the E flag and SRTCP index) and the authentication
tag. So a packet protected by libsrtp without MKI becomes the exact MKI packet by inserting the MKI before the tag,
and an MKI packet is checked by taking the MKI out (it also selects the key) and handing the rest to libsrtp.

Receive failures are counted by kind (authentication, replay, unknown MKI, other), never raised."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass

import pylibsrtp

SUITES = {"AES_CM_128_HMAC_SHA1_80": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 10),
          "AES_CM_128_HMAC_SHA1_32": (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 4)}
SRTCP_TAG = 10          # RFC 3711: SRTCP always uses the 80-bit tag, also with the _32 RTP suite (RFC 4568 6.2)
KEY_SALT_LEN = 30       # 16-byte master key + 14-byte master salt


@dataclass(frozen=True)
class SdesKey:
    """One SDES key: suite, base64 key||salt, and the MKI value and length in bytes (0: no MKI)."""

    suite: str
    key: str
    mki: int = 0
    mki_len: int = 0
    tag: int = 1

    @classmethod
    def from_crypto(cls, crypto) -> "SdesKey":
        """From a :class:`sipqual.sdp.Crypto` (``a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^31|1:4``)."""
        value, length = 0, 0
        if crypto.mki:
            v, _, n = crypto.mki.partition(":")
            value, length = int(v), int(n)
        return cls(crypto.suite.upper(), crypto.key or "", value, length, crypto.tag)

    @classmethod
    def make(cls, suite: str = "AES_CM_128_HMAC_SHA1_80", *, seed: bytes | None = None, mki: int = 0,
             mki_len: int = 0, tag: int = 1) -> "SdesKey":
        import os
        raw = (seed * KEY_SALT_LEN)[:KEY_SALT_LEN] if seed else os.urandom(KEY_SALT_LEN)
        return cls(suite, base64.b64encode(raw).decode(), mki, mki_len, tag)

    def attribute(self) -> str:
        """The ``a=crypto`` value offering this key."""
        mki = f"|{self.mki}:{self.mki_len}" if self.mki_len else ""
        return f"{self.tag} {self.suite} inline:{self.key}{mki}"

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.key + "=" * (-len(self.key) % 4))

    @property
    def tag_len(self) -> int:
        return SUITES[self.suite][1]

    @property
    def mki_bytes(self) -> bytes:
        return self.mki.to_bytes(self.mki_len, "big") if self.mki_len else b""

    def as_dict(self) -> dict:
        return asdict(self)


def _session(key: SdesKey, direction: int) -> pylibsrtp.Session:
    if key.suite not in SUITES:
        raise ValueError(f"SRTP suite {key.suite} is not supported by the media agent")
    raw = key.raw
    if len(raw) < KEY_SALT_LEN:
        raise ValueError(f"SDES key of {len(raw)} bytes, {KEY_SALT_LEN} needed")
    policy = pylibsrtp.Policy(key=raw[:KEY_SALT_LEN], ssrc_type=direction, srtp_profile=SUITES[key.suite][0])
    policy.allow_repeat_tx = True      # RFC 4733 end packets repeat content; sequence numbers still advance
    return pylibsrtp.Session(policy)


class Protector:
    """The sending side: protect RTP and RTCP with one SDES key (re-key: make a new Protector)."""

    def __init__(self, key: SdesKey):
        self.key = key
        self.session = _session(key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        self.mki = key.mki_bytes

    def rtp(self, packet: bytes) -> bytes:
        out = self.session.protect(packet)
        return out[:-self.key.tag_len] + self.mki + out[-self.key.tag_len:] if self.mki else out

    def rtcp(self, packet: bytes) -> bytes:
        out = self.session.protect_rtcp(packet)
        return out[:-SRTCP_TAG] + self.mki + out[-SRTCP_TAG:] if self.mki else out


@dataclass
class RxCounters:
    ok: int = 0
    auth: int = 0          # authentication failure: wrong key, tampered packet, cleartext
    replay: int = 0        # replay check failed (repeated or too old index)
    unknown_mki: int = 0   # an MKI no offered key carries
    short: int = 0         # too short to hold the tag (and MKI)
    other: int = 0
    first_error: str = ""

    def failed(self, kind: str, why: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if not self.first_error:
            self.first_error = why

    @property
    def failures(self) -> int:
        return self.auth + self.replay + self.unknown_mki + self.short + self.other


class Unprotector:
    """The receiving side: the peer's keys (newest first; an older key stays usable after a re-key for packets
    still in flight, as RFC 4568 section 7.1.4 allows), picked by MKI when the keys carry one."""

    MAX_KEYS = 4

    def __init__(self, keys: list[SdesKey]):
        self.entries: list[tuple[SdesKey, pylibsrtp.Session]] = []
        self.rtp_counts, self.rtcp_counts = RxCounters(), RxCounters()
        for k in reversed(keys):
            self.add(k)

    def add(self, key: SdesKey) -> None:
        """A new key from a re-key: tried first from now on."""
        self.entries.insert(0, (key, _session(key, pylibsrtp.Policy.SSRC_ANY_INBOUND)))
        del self.entries[self.MAX_KEYS:]

    def _open(self, packet: bytes, tag: int | None, rtcp: bool) -> bytes | None:
        counts = self.rtcp_counts if rtcp else self.rtp_counts
        candidates = self.entries
        mki_len = self.entries[0][0].mki_len if self.entries else 0
        if mki_len:
            t = SRTCP_TAG if rtcp else self.entries[0][0].tag_len
            if len(packet) < 12 + mki_len + t:
                counts.failed("short", f"{len(packet)}-byte packet cannot hold MKI and tag")
                return None
            mki = packet[-t - mki_len:-t]
            candidates = [e for e in self.entries if e[0].mki_bytes == mki]
            if not candidates:
                counts.failed("unknown_mki", f"MKI {mki.hex()} matches no key")
                return None
            packet = packet[:-t - mki_len] + packet[-t:]
        why = ""
        for key, session in candidates:
            try:
                out = session.unprotect_rtcp(packet) if rtcp else session.unprotect(packet)
            except pylibsrtp.Error as e:
                why = str(e)
                continue
            counts.ok += 1
            return out
        kind = "auth" if "authentication" in why else "replay" if "replay" in why else "other"
        counts.failed(kind, why or "no key")
        return None

    def rtp(self, packet: bytes) -> bytes | None:
        return self._open(packet, None, False)

    def rtcp(self, packet: bytes) -> bytes | None:
        return self._open(packet, None, True)

    def report(self) -> dict:
        return {"keys": [k.as_dict() for k, _s in self.entries], "rtp": asdict(self.rtp_counts),
                "rtcp": asdict(self.rtcp_counts)}
