"""Tolerant, structured parsing of one SIP message (RFC 3261); the grammar of header values (URIs, name-addr, Via)
is in :mod:`sipqual.sipvalues`, whose names this module re-exports.

Why this module exists: the qualification suite judges devices by what they
put on the wire, so every check must look at *parsed* fields.  Substring
matching gives false passes and false failures as soon as a device uses
compact header forms, odd header-name case, folded lines, comma-joined
headers or commas inside quoted display names.

Why it is tolerant: a device under test that sends a slightly broken message
must produce a readable verdict ("Content-Length 12 but body has 10 bytes"),
not a traceback.  Only a message whose start line is unusable raises
:class:`SipParseError`; every other deviation is appended to
``SipMessage.defects`` (or ``defects`` of the URI / name-addr / Via objects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from .sipvalues import (TOKEN, NameAddr, SipUri, Via, clip, uint, parse_name_addr, parse_uri, parse_via,
                        split_unquoted)

__all__ = [
    "COMPACT_FORMS",
    "LIST_HEADERS",
    "CSeq",
    "Header",
    "NameAddr",
    "SipMessage",
    "SipParseError",
    "SipUri",
    "Via",
    "canonical_name",
    "parse_message",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
    "split_unquoted",
]


class SipParseError(ValueError):
    """The start line is unusable, so the bytes are not a SIP message at all."""


#: RFC 3261 §7.3.3 and later RFCs: single-letter compact header names.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Spellings that plain Title-Case-With-Dashes would get wrong or that we want
# to show exactly as the RFCs write them.
_KNOWN_NAMES = (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language",
    "Accept-Resource-Priority", "Alert-Info", "Allow", "Allow-Events",
    "Answer-Mode", "Authentication-Info", "Authorization", "Call-ID",
    "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date",
    "Diversion", "Error-Info", "Event", "Expires", "From", "History-Info",
    "Identity", "Identity-Info", "In-Reply-To", "Join", "Max-Forwards",
    "MIME-Version", "Min-Expires", "Min-SE", "Organization",
    "P-Access-Network-Info", "P-Asserted-Identity", "P-Called-Party-ID",
    "P-Charging-Vector", "P-Early-Media", "P-Preferred-Identity",
    "P-Served-User", "Path", "Priority", "Privacy", "Proxy-Authenticate",
    "Proxy-Authorization", "Proxy-Require", "RAck", "Reason", "Record-Route",
    "Refer-Sub", "Refer-To", "Referred-By", "Reject-Contact",
    "Remote-Party-ID", "Replaces", "Reply-To", "Request-Disposition",
    "Require", "Resource-Priority", "Retry-After", "Route", "RSeq",
    "Security-Client", "Security-Server", "Security-Verify", "Server",
    "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject",
    "Subscription-State", "Supported", "Target-Dialog", "Timestamp", "To",
    "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
)
_CANONICAL: dict[str, str] = {n.lower(): n for n in _KNOWN_NAMES}

#: Headers whose grammar is a comma-separated list (lower-case canonical
#: names); ``SipMessage.values`` splits these, all others are one value per line.
LIST_HEADERS: frozenset[str] = frozenset(n.lower() for n in (
    "Via", "Route", "Record-Route", "Contact", "Allow", "Supported",
    "Require", "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding",
    "Accept-Language", "Allow-Events", "P-Asserted-Identity",
    "P-Preferred-Identity", "History-Info", "Diversion", "Reason",
    "In-Reply-To", "Path", "Service-Route", "Warning", "Call-Info",
    "Alert-Info", "Error-Info", "Content-Encoding", "Content-Language",
    "Accept-Contact", "Reject-Contact", "Request-Disposition",
    "Security-Client", "Security-Server", "Security-Verify",
    "Resource-Priority", "Accept-Resource-Priority",
))

# Headers that RFC 3261 allows only once; duplicates are recorded as defects.
_SINGLE_HEADERS = ("Call-ID", "CSeq", "From", "To", "Max-Forwards",
                   "Content-Length", "Content-Type")
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")

_REQUEST_RE = re.compile(r"(\S+)[ \t]+(\S.*?)[ \t]+(SIP/\S+)", re.I)
_RESPONSE_RE = re.compile(r"(SIP/\S+)[ \t]+(\S+)(?:[ \t]+(.*))?", re.I)
_STRICT_REQUEST_RE = re.compile(r"\S+ \S+ \S+")
_STRICT_RESPONSE_RE = re.compile(r"\S+ \d{3}(?: |$)")
_TOKEN_RE = re.compile(TOKEN)
_CSEQ_RE = re.compile(rf"(\d+)\s+({TOKEN})")


@lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    """Map any spelling of a header name (compact form, any case) to one name.

    Header names are case-insensitive (RFC 3261 §7.3.1), so every lookup goes
    through this function; unknown names become Title-Case-With-Dashes.
    """
    stripped = name.strip()
    low = stripped.lower()
    if low in COMPACT_FORMS:
        return COMPACT_FORMS[low]
    if low in _CANONICAL:
        return _CANONICAL[low]
    return "-".join(p[:1].upper() + p[1:].lower() for p in stripped.split("-"))


# ----------------------------------------------------------------- message


@dataclass(frozen=True)
class Header:
    """One header line: canonical name, name as written, unfolded stripped value."""

    name: str
    raw_name: str
    value: str


@dataclass(frozen=True)
class CSeq:
    seq: int
    method: str


def _parse_cseq(value: str) -> CSeq | None:
    m = _CSEQ_RE.fullmatch(value.strip())
    return CSeq(int(m.group(1)), m.group(2)) if m else None


@dataclass
class SipMessage:
    """A parsed SIP request or response.

    Accessors are case-insensitive and accept compact forms, so callers never
    need to care how the device spelled a header.

    The views the dialog model and the rules use to relate messages (Call-ID,
    CSeq, From, To, Via) are parsed on first use and kept: they are asked for
    many times per message, and re-parsing them made a long capture's
    analysis slow.  Other views are parsed on each access, because a capture
    keeps every message and caching them too would cost memory for little
    time.  Caching is sound because nothing changes ``headers`` after
    :func:`parse_message` builds the message; callers must treat the cached
    views as read-only.
    """

    is_request: bool
    method: str | None
    ruri: str | None
    status: int | None
    reason: str | None
    version: str
    headers: list[Header] = field(default_factory=list)
    body: bytes = b""
    defects: list[str] = field(default_factory=list)
    raw: bytes = b""

    # -- generic header access -------------------------------------------
    def _lines(self, name: str) -> list[Header]:
        key = canonical_name(name).lower()
        return [h for h in self.headers if h.name.lower() == key]

    def get(self, name: str) -> str | None:
        """Value of the first header *line* with this name (whole line, unsplit)."""
        lines = self._lines(name)
        return lines[0].value if lines else None

    def values(self, name: str) -> list[str]:
        """All values: per header line, and per comma element for list headers."""
        key = canonical_name(name).lower()
        out: list[str] = []
        for h in self._lines(name):
            if key in LIST_HEADERS:
                out.extend(p.strip() for p in split_unquoted(h.value, ",") if p.strip())
            else:
                out.append(h.value)
        return out

    def has(self, name: str) -> bool:
        return bool(self._lines(name))

    def count(self, name: str) -> int:
        """Number of header lines, so duplicated single-instance headers are visible."""
        return len(self._lines(name))

    # -- typed views -----------------------------------------------------
    @property
    def is_response(self) -> bool:
        return not self.is_request

    @property
    def request_uri(self) -> SipUri | None:
        return parse_uri(self.ruri) if self.ruri is not None else None

    @cached_property
    def call_id(self) -> str | None:
        return self.get("Call-ID")

    @cached_property
    def cseq(self) -> CSeq | None:
        value = self.get("CSeq")
        return _parse_cseq(value) if value is not None else None

    @property
    def cseq_method(self) -> str | None:
        cseq = self.cseq
        return cseq.method if cseq else None

    def _name_addr(self, name: str) -> NameAddr | None:
        value = self.get(name)
        return parse_name_addr(value) if value is not None else None

    @cached_property
    def from_(self) -> NameAddr | None:
        return self._name_addr("From")

    @cached_property
    def to(self) -> NameAddr | None:
        return self._name_addr("To")

    @cached_property
    def vias(self) -> list[Via]:
        """Via hops, topmost first."""
        return [parse_via(v) for v in self.values("Via")]

    @property
    def contacts(self) -> list[NameAddr]:
        return [parse_name_addr(v) for v in self.values("Contact")]

    @property
    def record_routes(self) -> list[NameAddr]:
        return [parse_name_addr(v) for v in self.values("Record-Route")]

    @property
    def routes(self) -> list[NameAddr]:
        return [parse_name_addr(v) for v in self.values("Route")]

    @property
    def content_length(self) -> int | None:
        """Declared Content-Length (None if absent or not a number)."""
        return uint(self.get("Content-Length"))

    @property
    def max_forwards(self) -> int | None:
        return uint(self.get("Max-Forwards"))

    @property
    def allow(self) -> list[str]:
        return [v.upper() for v in self.values("Allow")]

    @property
    def supported(self) -> list[str]:
        return self.values("Supported")

    @property
    def require(self) -> list[str]:
        return self.values("Require")

    def summary(self) -> str:
        """One-line description for logs and reports."""
        if self.is_request:
            return f"{self.method} {self.ruri}"
        text = f"{self.status} {self.reason or ''}".rstrip()
        method = self.cseq_method
        return f"{text} ({method})" if method else text


def _split_head(raw: bytes) -> tuple[list[bytes], bytes, bool, bool]:
    """Return (header-section lines, body, terminated-by-empty-line, saw-bare-LF)."""
    lines: list[bytes] = []
    bare_lf = False
    pos = 0
    while True:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            tail = raw[pos:].rstrip(b"\r")
            if tail:
                lines.append(tail)
            return lines, b"", False, bare_lf
        line = raw[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            bare_lf = True
        pos = nl + 1
        if not line:
            if not lines:  # RFC 3261 §7.5: ignore CRLFs before the start line
                continue
            return lines, raw[pos:], True, bare_lf
        lines.append(line)


def _parse_start_line(line: str, msg_defects: list[str]) -> dict:
    m = _RESPONSE_RE.fullmatch(line)
    if m:
        status = uint(m.group(2))
        if status is None or len(m.group(2)) != 3:
            raise SipParseError(f"bad status code in status line {clip(line)!r}")
        if not 100 <= status <= 699:
            msg_defects.append(f"status code {status} outside 100-699")
        if m.group(3) is None:
            msg_defects.append("status line has no reason phrase")
        if not _STRICT_RESPONSE_RE.match(line):
            msg_defects.append("start line elements not separated by single spaces")
        return dict(is_request=False, method=None, ruri=None, status=status,
                    reason=(m.group(3) or "").strip(), version=m.group(1))
    m = _REQUEST_RE.fullmatch(line)
    if not m or not _TOKEN_RE.fullmatch(m.group(1)):
        raise SipParseError(f"unusable start line {clip(line)!r}")
    method = m.group(1)
    if not _STRICT_REQUEST_RE.fullmatch(line):
        msg_defects.append("start line elements not separated by single spaces")
    if method != method.upper():
        msg_defects.append(f"method {method!r} is not upper-case (methods are case-sensitive)")
    return dict(is_request=True, method=method, ruri=m.group(2), status=None,
                reason=None, version=m.group(3))


def parse_message(data: bytes) -> SipMessage:
    """Parse the raw bytes of one SIP message; see the module docstring."""
    raw = bytes(data)
    defects: list[str] = []
    lines, body, terminated, bare_lf = _split_head(raw)
    if not lines:
        raise SipParseError("empty message")

    bad_utf8 = False
    texts: list[str] = []
    for line in lines:
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            bad_utf8 = True
            texts.append(line.decode("utf-8", "replace"))

    start = _parse_start_line(texts[0], defects)
    if start["version"].upper() != "SIP/2.0":
        defects.append(f"SIP version {start['version']!r} is not SIP/2.0")
    if bad_utf8:
        defects.append("header section is not valid UTF-8")
    if bare_lf:
        defects.append("line terminated by bare LF instead of CRLF")
    if not terminated:
        defects.append("header section not terminated by an empty line")

    # Header lines; continuation lines (leading SP/HT) unfold into the previous one.
    pending: list[tuple[str, str, list[str]]] = []
    for text in texts[1:]:
        if text[:1] in (" ", "\t"):
            if pending:
                pending[-1][2].append(text.strip())
            else:
                defects.append(f"continuation line before first header: {clip(text.strip())!r}")
            continue
        name, colon, value = text.partition(":")
        if not colon:
            defects.append(f"header line without colon: {clip(text)!r}")
            continue
        raw_name = name.rstrip()
        if not _TOKEN_RE.fullmatch(raw_name):
            defects.append(f"invalid header name {raw_name!r}")
            continue
        pending.append((canonical_name(raw_name), raw_name, [value.strip()]))
    headers = [Header(n, r, " ".join(p for p in parts if p)) for n, r, parts in pending]

    msg = SipMessage(headers=headers, body=body, defects=defects, raw=raw, **start)
    msg.body = _check_body(msg)
    _check_headers(msg)
    return msg


def _check_body(msg: SipMessage) -> bytes:
    """Apply a valid declared Content-Length to the body and record mismatches."""
    body = msg.body
    declared_values = msg.values("Content-Length")
    if not declared_values:
        return body
    if len(set(v.strip() for v in declared_values)) > 1:
        msg.defects.append(f"conflicting Content-Length values {declared_values}")
    declared = uint(declared_values[0])
    if declared is None:
        msg.defects.append(f"Content-Length {declared_values[0]!r} is not a number")
        return body
    if len(body) > declared:
        msg.defects.append(f"{len(body) - declared} bytes after declared body")
        return body[:declared]
    if len(body) < declared:
        msg.defects.append(f"Content-Length {declared} but body has {len(body)} bytes")
    return body


def _check_headers(msg: SipMessage) -> None:
    """Record syntax defects of the headers every SIP element must understand."""
    d = msg.defects
    for name in _MANDATORY:
        if not msg.has(name):
            d.append(f"missing mandatory header {name}")
    if msg.is_request and not msg.has("Max-Forwards"):
        d.append("missing mandatory header Max-Forwards")
    for name in _SINGLE_HEADERS:
        if msg.count(name) > 1:
            d.append(f"{name} appears {msg.count(name)} times")

    cseq_text = msg.get("CSeq")
    if cseq_text is not None:
        cseq = _parse_cseq(cseq_text)
        if cseq is None:
            d.append(f"CSeq {cseq_text!r} is not 'number METHOD'")
        else:
            if cseq.seq >= 2**31:
                d.append(f"CSeq number {cseq.seq} not below 2**31")
            if msg.is_request and cseq.method != msg.method:
                d.append(f"CSeq method {cseq.method!r} does not match request method {msg.method!r}")
    mf = msg.get("Max-Forwards")
    if mf is not None and uint(mf) is None:
        d.append(f"Max-Forwards {mf!r} is not a number")
    if msg.body and not msg.has("Content-Type"):
        d.append("body present without Content-Type")

    if msg.ruri is not None:
        d.extend(f"Request-URI: {x}" for x in parse_uri(msg.ruri).defects)
    for name, na in (("From", msg.from_), ("To", msg.to)):
        if na is not None:
            d.extend(f"{name}: {x}" for x in na.defects)
    for via in msg.vias:
        d.extend(f"Via: {x}" for x in via.defects)
    for contact in msg.contacts:
        d.extend(f"Contact: {x}" for x in contact.defects)
