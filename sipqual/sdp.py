"""Tolerant parsing of SDP bodies (RFC 4566/8866, RFC 3264, RFC 4568).

Why: offer/answer checks (codecs offered, hold via direction or 0.0.0.0,
SRTP crypto suites) must look at parsed media descriptions, not at substrings
of the body, and a malformed SDP from a device under test must yield a list
of ``defects`` rather than an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "Connection",
    "Crypto",
    "Media",
    "Origin",
    "Sdp",
    "parse_sdp",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

#: RFC 3551 static payload types that may be used without an a=rtpmap line.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, str | None]] = {
    0: ("PCMU", 8000, None),
    3: ("GSM", 8000, None),
    4: ("G723", 8000, None),
    8: ("PCMA", 8000, None),
    9: ("G722", 8000, None),
    13: ("CN", 8000, None),
    18: ("G729", 8000, None),
}

_RTPMAP_RE = re.compile(r"(\d+)\s+([^/\s]+)/(\d+)(?:/(\S+))?")
_FMTP_RE = re.compile(r"(\d+)\s+(.*)", re.S)
_SESSION_ONLY = set("vosuepztr")
_MEDIA_ALLOWED = set("micbka")


def _uint(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    username: str
    sess_id: str
    sess_version: int | None
    nettype: str
    addrtype: str
    address: str


@dataclass
class Connection:
    """``c=<nettype> <addrtype> <address>``; address kept as written (incl. /ttl)."""

    nettype: str
    addrtype: str
    address: str

    @property
    def is_unspecified(self) -> bool:
        """0.0.0.0 / :: is the RFC 2543 way of putting a stream on hold."""
        return self.address.split("/")[0] in ("0.0.0.0", "::")


@dataclass
class Crypto:
    """``a=crypto:<tag> <suite> <key-params> [<session-params>...]`` (RFC 4568)."""

    tag: int
    suite: str
    key_params: str
    session_params: list[str] = field(default_factory=list)

    def _inline(self) -> list[str] | None:
        method, _, info = self.key_params.split(";")[0].partition(":")
        return info.split("|") if method.lower() == "inline" else None

    @property
    def key(self) -> str | None:
        """Base64 key||salt of the first inline key parameter."""
        parts = self._inline()
        return parts[0] if parts else None

    @property
    def lifetime(self) -> str | None:
        parts = self._inline() or []
        return next((p for p in parts[1:] if ":" not in p), None)

    @property
    def mki(self) -> str | None:
        """``MKI:length`` as written, if present."""
        parts = self._inline() or []
        return next((p for p in parts[1:] if ":" in p), None)


def _parse_crypto(value: str) -> Crypto | None:
    parts = value.split()
    if len(parts) < 3 or _uint(parts[0]) is None:
        return None
    return Crypto(tag=int(parts[0]), suite=parts[1], key_params=parts[2],
                  session_params=parts[3:])


def _parse_rtpmap(value: str) -> tuple[int, str, int, str | None] | None:
    m = _RTPMAP_RE.fullmatch(value.strip())
    if not m:
        return None
    return int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)


def _direction(attributes: list[tuple[str, str | None]]) -> str | None:
    found = [name.lower() for name, _ in attributes if name.lower() in DIRECTIONS]
    return found[-1] if found else None


def _is_rtp(proto: str) -> bool:
    return "RTP/" in proto.upper()


def event_codes(spec: str | None) -> set[int] | None:
    """The event codes a telephone-event ``a=fmtp`` value names (``0-15``, ``0-11,16``); no fmtp means 0-15 (RFC 4733
    section 7.1.1); None when the value does not parse."""
    codes: set[int] = set()
    for part in (spec if spec is not None else "0-15").split(","):
        lo, dash, hi = part.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            return None
        codes.update(range(int(lo), int(hi if dash else lo) + 1))
    return codes


@dataclass
class Media:
    """One ``m=`` section with its media-level lines.

    ``port`` is -1 when the m= line has no usable port (0 would wrongly mean
    "stream rejected").  ``session_direction`` / ``session_connection`` are
    copied from the session level by :func:`parse_sdp` so that ``direction``
    and ``effective_connection`` can apply the RFC fall-back rules.
    """

    kind: str
    port: int
    port_count: int
    proto: str
    formats: list[str]
    connection: Connection | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    session_direction: str | None = None
    session_connection: Connection | None = None

    def attribute(self, name: str) -> str | None:
        """Value of the first media-level ``a=name[:value]`` (case-insensitive name)."""
        values = self.attribute_values(name)
        return values[0] if values else None

    def attribute_values(self, name: str) -> list[str | None]:
        low = name.lower()
        return [v for n, v in self.attributes if n.lower() == low]

    def has_attribute(self, name: str) -> bool:
        return bool(self.attribute_values(name))

    @property
    def is_rtp(self) -> bool:
        return _is_rtp(self.proto)

    @property
    def rtpmap(self) -> dict[int, tuple[str, int, str | None]]:
        """PT -> (encoding, clock rate, channels), static PTs filled in for RTP."""
        result: dict[int, tuple[str, int, str | None]] = {}
        for value in self.attribute_values("rtpmap"):
            parsed = _parse_rtpmap(value or "")
            if parsed:
                result.setdefault(parsed[0], parsed[1:])
        if _is_rtp(self.proto):
            for fmt in self.formats:
                pt = _uint(fmt)
                if pt in STATIC_PAYLOAD_TYPES and pt not in result:
                    result[pt] = STATIC_PAYLOAD_TYPES[pt]
        return result

    @property
    def fmtp(self) -> dict[int, str]:
        result: dict[int, str] = {}
        for value in self.attribute_values("fmtp"):
            m = _FMTP_RE.fullmatch((value or "").strip())
            if m:
                result.setdefault(int(m.group(1)), m.group(2).strip())
        return result

    @property
    def direction(self) -> str:
        """Media-level direction, else session-level, else sendrecv (RFC 3264 §5.1)."""
        return _direction(self.attributes) or self.session_direction or "sendrecv"

    @property
    def crypto(self) -> list[Crypto]:
        parsed = (_parse_crypto(v or "") for v in self.attribute_values("crypto"))
        return [c for c in parsed if c is not None]

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        return _uint(value) if value is not None else None

    @property
    def effective_connection(self) -> Connection | None:
        return self.connection or self.session_connection

    def codec_names(self) -> list[str]:
        """Upper-case encoding names in m= line order (PTs without a mapping skipped)."""
        rtpmap = self.rtpmap
        names = []
        for fmt in self.formats:
            pt = _uint(fmt)
            if pt is not None and pt in rtpmap:
                names.append(rtpmap[pt][0].upper())
        return names


@dataclass
class Sdp:
    """A session description: session-level fields plus its media sections."""

    version: int | None = None
    origin: Origin | None = None
    session_name: str | None = None
    connection: Connection | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def _first(self, kind: str) -> Media | None:
        return next((m for m in self.media if m.kind.lower() == kind), None)

    @property
    def audio(self) -> Media | None:
        return self._first("audio")

    @property
    def video(self) -> Media | None:
        return self._first("video")

    def attribute(self, name: str) -> str | None:
        """Value of the first session-level ``a=name[:value]``."""
        low = name.lower()
        return next((v for n, v in self.attributes if n.lower() == low), None)


def _parse_connection(value: str, where: str, defects: list[str]) -> Connection | None:
    parts = value.split()
    if len(parts) != 3:
        defects.append(f"{where}: c= needs 3 fields: {value!r}")
        return None
    return Connection(*parts)


def _parse_origin(value: str, defects: list[str]) -> Origin | None:
    parts = value.split()
    if len(parts) != 6:
        defects.append(f"o= needs 6 fields: {value!r}")
        if len(parts) < 6:
            return None
    version = _uint(parts[2])
    if version is None:
        defects.append(f"o= session version {parts[2]!r} is not a number")
    return Origin(parts[0], parts[1], version, parts[3], parts[4], parts[5])


def _parse_media(value: str, defects: list[str]) -> Media:
    parts = value.split()
    where = f"m={value}"
    if len(parts) < 3:
        defects.append(f"{where}: m= needs media, port, proto and formats")
    parts += [""] * (3 - len(parts))
    port_text, slash, count_text = parts[1].partition("/")
    port = _uint(port_text)
    if port is None or port > 65535:
        defects.append(f"{where}: bad port {parts[1]!r}")
        port = -1
    count = _uint(count_text) if slash else 1
    if count is None:
        defects.append(f"{where}: bad port count {count_text!r}")
        count = 1
    if len(parts) == 3:
        defects.append(f"{where}: no formats")
    return Media(kind=parts[0], port=port, port_count=count, proto=parts[2],
                 formats=parts[3:])


def _check_media(index: int, media: Media, defects: list[str]) -> None:
    """Record defects in rtpmap/fmtp/crypto lines and missing connection data."""
    where = f"m[{index}] {media.kind}"
    if media.effective_connection is None:
        defects.append(f"{where}: no c= at media or session level")
    directions = [n for n, _ in media.attributes if n.lower() in DIRECTIONS]
    if len(directions) > 1:
        defects.append(f"{where}: several direction attributes {directions}")
    rtp = _is_rtp(media.proto)
    for value in media.attribute_values("rtpmap"):
        parsed = _parse_rtpmap(value or "")
        if parsed is None:
            defects.append(f"{where}: bad rtpmap {value!r}")
        elif rtp and str(parsed[0]) not in media.formats:
            defects.append(f"{where}: rtpmap for payload type {parsed[0]} not in m= line")
    for value in media.attribute_values("fmtp"):
        if not _FMTP_RE.fullmatch((value or "").strip()):
            defects.append(f"{where}: bad fmtp {value!r}")
    for value in media.attribute_values("crypto"):
        if _parse_crypto(value or "") is None:
            defects.append(f"{where}: bad crypto {value!r}")
    ptime = media.attribute("ptime")
    if media.has_attribute("ptime") and (ptime is None or _uint(ptime) is None):
        defects.append(f"{where}: bad ptime {ptime!r}")
    if rtp:
        mapped = media.rtpmap
        for fmt in media.formats:
            pt = _uint(fmt)
            if pt is None or pt > 127:
                defects.append(f"{where}: format {fmt!r} is not an RTP payload type")
            elif pt not in mapped:
                defects.append(f"{where}: payload type {pt} has no rtpmap")


def parse_sdp(data: bytes | str) -> Sdp:
    """Parse an SDP body; never raises, problems go to ``Sdp.defects``."""
    sdp = Sdp()
    defects = sdp.defects
    if isinstance(data, str):
        text = data
    else:
        raw = bytes(data)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            defects.append("SDP is not valid UTF-8")

    lines = re.split(r"\r?\n", text)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        defects.append("empty SDP")
        return sdp

    seen: set[str] = set()
    current: Media | None = None
    for number, line in enumerate(lines, 1):
        line = line.rstrip()
        if not line:
            defects.append(f"line {number}: empty line")
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            defects.append(f"line {number}: not '<type>=<value>': {line[:60]!r}")
            continue
        kind, value = line[0], line[2:]
        if not seen and kind != "v":
            defects.append(f"line {number}: first line is {kind}= instead of v=")
        seen.add(kind)
        if current is not None and kind in _SESSION_ONLY:
            defects.append(f"line {number}: {kind}= not allowed in a media section")
            continue
        if kind == "v":
            sdp.version = _uint(value)
            if sdp.version != 0:
                defects.append(f"v={value} is not v=0")
        elif kind == "o":
            sdp.origin = _parse_origin(value, defects)
        elif kind == "s":
            sdp.session_name = value
        elif kind == "c":
            where = f"m[{len(sdp.media) - 1}]" if current else "session"
            conn = _parse_connection(value, where, defects)
            if current is not None:
                current.connection = conn
            else:
                sdp.connection = conn
        elif kind == "m":
            current = _parse_media(value, defects)
            sdp.media.append(current)
        elif kind == "a":
            name, colon, attr_value = value.partition(":")
            if not name:
                defects.append(f"line {number}: attribute without a name")
                continue
            target = current.attributes if current is not None else sdp.attributes
            target.append((name, attr_value if colon else None))
        elif kind not in _SESSION_ONLY | _MEDIA_ALLOWED:
            defects.append(f"line {number}: unknown line type {kind}=")

    for kind in "vost":
        if kind not in seen:
            defects.append(f"missing {kind}= line")
    session_direction = _direction(sdp.attributes)
    for index, media in enumerate(sdp.media):
        media.session_direction = session_direction
        media.session_connection = sdp.connection
        _check_media(index, media, defects)
    return sdp
