"""The grammar of SIP header values (RFC 3261 §25): URIs, name-addr (From, To, Contact, ...), Via hops, generic
parameters, and splitting comma-joined values outside quotes and angle brackets. Tolerant like
:mod:`sipqual.sipmsg`: a deviation becomes an entry in the object's ``defects``, never an exception."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = ["NameAddr", "SipUri", "Via", "parse_name_addr", "parse_uri", "parse_via", "split_unquoted"]

TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_DISPLAY_TOKENS_RE = re.compile(rf"{TOKEN}(?:\s+{TOKEN})*")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", re.S)
_VIA_RE = re.compile(r"([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*([^\s;]+)\s*(.*)", re.S)


def uint(text: str | None) -> int | None:
    """Parse an unsigned decimal (ASCII digits only), else None."""
    if text is None:
        return None
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def split_unquoted(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` except inside "quoted strings" and <...>.

    Why: display names may contain commas and '<' (``"Doe, John" <sip:..>``)
    and URIs in angle brackets may contain commas or semicolons, none of
    which separate list elements or parameters.
    """
    parts: list[str] = []
    buf: list[str] = []
    in_quote = escaped = False
    depth = 0
    for ch in text:
        if in_quote:
            buf.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
            continue
        if ch == '"':
            in_quote = True
        elif ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return parts


def _parse_params(text: str) -> dict[str, str | None]:
    """``;a=1;lr;B=x`` -> {"a": "1", "lr": None, "b": "x"} (first wins)."""
    params: dict[str, str | None] = {}
    for item in split_unquoted(text, ";"):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        params.setdefault(key.strip().lower(), value.strip() if eq else None)
    return params


def _split_hostport(text: str) -> tuple[str, int | None, list[str]]:
    """Split ``host[:port]`` / ``[v6]:port``; host is returned without brackets."""
    text = text.strip()
    defects: list[str] = []
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return text[1:], None, [f"unterminated IPv6 reference {text!r}"]
        host, rest = text[1:end], text[end + 1:]
        if rest.startswith(":"):
            port_text = rest[1:]
        elif rest:
            defects.append(f"unexpected text after IPv6 reference: {rest!r}")
    elif text.count(":") > 1:
        return text, None, [f"IPv6 address {text!r} is not in brackets"]
    else:
        host, colon, port_text_ = text.partition(":")
        port_text = port_text_ if colon else None
    port = None
    if port_text is not None:
        port = uint(port_text)
        if port is None or port > 65535:
            defects.append(f"bad port {port_text!r}")
            port = None
    if not host:
        defects.append("empty host")
    return host, port, defects


# --------------------------------------------------------------------- URIs


@dataclass
class SipUri:
    """A parsed sip:/sips:/tel: URI; other schemes keep only ``scheme`` and ``raw``.

    ``host`` is "" for tel: and unknown schemes; IPv6 hosts are given without
    brackets.  ``params`` keys are lower-case, values as written.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: str = ""
    defects: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.raw


def parse_uri(s: str) -> SipUri:
    """Parse a URI as written in a Request-URI or inside ``<...>``; never raises."""
    text = s.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    m = _SCHEME_RE.fullmatch(text)
    if not m:
        return SipUri(scheme="", raw=text, defects=[f"URI without scheme: {clip(text)!r}"])
    scheme, rest = m.group(1).lower(), m.group(2)
    uri = SipUri(scheme=scheme, raw=text)
    if scheme in ("sip", "sips"):
        rest, qmark, header_text = rest.partition("?")
        if qmark:
            for item in header_text.split("&"):
                if item:
                    key, _, value = item.partition("=")
                    uri.headers[key] = unquote(value)
        # '@' cannot appear in host or uri-parameters, so the last one ends userinfo.
        userinfo, at, hostpart = rest.rpartition("@")
        if at:
            user, colon, password = userinfo.partition(":")
            uri.user = user
            uri.password = password if colon else None
            if not user:
                uri.defects.append("empty user part before '@'")
        hostport, _, param_text = hostpart.partition(";")
        uri.host, uri.port, defects = _split_hostport(hostport)
        uri.defects.extend(defects)
        uri.params = _parse_params(param_text)
    elif scheme == "tel":
        number, _, param_text = rest.partition(";")
        uri.user = number
        uri.params = _parse_params(param_text)
        if not number:
            uri.defects.append("tel URI without a number")
    if any(c.isspace() for c in text):
        uri.defects.append(f"URI contains whitespace: {clip(text)!r}")
    return uri


# --------------------------------------------------------------- name-addr


@dataclass
class NameAddr:
    """From/To/Contact/Route-style value: optional display name, URI, header params.

    ``display`` is unquoted (None when absent, "" for ``""``); ``params`` are
    the header parameters (``tag``, ``expires``...), lower-case keys.
    ``uri_text`` is "*" for the wildcard Contact.
    """

    display: str | None
    uri: SipUri | None
    uri_text: str
    params: dict[str, str | None] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def is_wildcard(self) -> bool:
        """True for ``Contact: *`` (REGISTER remove-all bindings)."""
        return self.uri_text == "*"


def _read_quoted(text: str) -> tuple[str, str, bool]:
    """Read a quoted-string starting at text[0] == '"'; returns (value, rest, closed)."""
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), text[i + 1:], True
        out.append(ch)
        i += 1
    return "".join(out), "", False


def parse_name_addr(s: str) -> NameAddr:
    """Parse ``"Name" <uri>;params``, ``Name <uri>``, ``<uri>`` or a bare addr-spec.

    For a bare addr-spec (no angle brackets) everything after the first ';'
    is a header parameter, not a URI parameter (RFC 3261 §20).
    """
    text = s.strip()
    if text == "*":
        return NameAddr(display=None, uri=None, uri_text="*")
    defects: list[str] = []
    display: str | None = None
    rest = text
    quoted = text.startswith('"')
    if quoted:
        display, rest, closed = _read_quoted(text)
        if not closed:
            defects.append("unterminated quoted display name")
        rest = rest.lstrip()
        if "<" not in rest:
            defects.append("quoted display name not followed by <URI>")
    lt = rest.find("<")
    if lt >= 0:
        if not quoted:
            token_text = " ".join(rest[:lt].split())
            display = token_text or None
            if token_text and not _DISPLAY_TOKENS_RE.fullmatch(token_text):
                defects.append(
                    f"display name {token_text!r} is neither tokens nor a quoted string")
        elif rest[:lt].strip():
            defects.append(f"unexpected text before '<': {rest[:lt].strip()!r}")
        gt = rest.find(">", lt)
        if gt < 0:
            defects.append("missing '>' after URI")
            uri_text, param_text = rest[lt + 1:].strip(), ""
        else:
            uri_text, param_text = rest[lt + 1:gt].strip(), rest[gt + 1:].strip()
            if param_text and not param_text.startswith(";"):
                defects.append(f"unexpected text after '>': {clip(param_text)!r}")
    else:
        uri_text, _, param_text = rest.partition(";")
        uri_text = uri_text.strip()
    uri: SipUri | None = None
    if _SCHEME_RE.fullmatch(uri_text):
        uri = parse_uri(uri_text)
        defects.extend(uri.defects)
    else:
        defects.append(f"no URI in {clip(text)!r}")
    return NameAddr(display=display, uri=uri, uri_text=uri_text,
                    params=_parse_params(param_text), defects=defects)


# --------------------------------------------------------------------- Via


@dataclass
class Via:
    """One Via hop: ``SIP/2.0/UDP host:port;branch=...;rport``."""

    protocol: str
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)
    raw: str = ""
    defects: list[str] = field(default_factory=list)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def has_magic_cookie(self) -> bool:
        """RFC 3261 §8.1.1.7: compliant branches start with ``z9hG4bK``."""
        return (self.branch or "").startswith("z9hG4bK")


def parse_via(s: str) -> Via:
    """Parse one via-parm (one element of a possibly comma-joined Via header)."""
    text = s.strip()
    m = _VIA_RE.fullmatch(text)
    if not m:
        return Via(protocol="", transport="", host="", port=None, raw=text,
                   defects=[f"unparseable Via {clip(text)!r}"])
    protocol = f"{m.group(1)}/{m.group(2)}"
    sent_by, _, param_text = m.group(4).partition(";")
    host, port, defects = _split_hostport("".join(sent_by.split()))
    if protocol.upper() != "SIP/2.0":
        defects.insert(0, f"Via protocol {protocol!r} is not SIP/2.0")
    return Via(protocol=protocol, transport=m.group(3).upper(), host=host, port=port,
               params=_parse_params(param_text), raw=text, defects=defects)
