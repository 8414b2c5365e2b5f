"""URI equality as RFC 3261 section 19.1.4 defines it, the one way every rule compares SIP URIs (never as text).

sip: and sips: URIs: the scheme must match; user and password compare case-sensitively, everything else
case-insensitively; %HEX escapes equal the characters they stand for; a default port or transport is NOT equal to
an absent one (``sip:a@h`` and ``sip:a@h:5060`` differ); the parameters user, ttl, method, maddr and transport must
match when either URI has them, any other parameter only when both have it; URI headers must be present in both and
match. tel: URIs (RFC 3966 section 4) compare the number without visual separators and the parameters. Any other
scheme compares as case-insensitive text after unescaping.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

from .sipmsg import SipUri, parse_uri

STRICT_PARAMS = ("user", "ttl", "method", "maddr", "transport")
_VISUAL = re.compile(r"[-.()]")


def _host(host: str) -> str:
    try:
        return ipaddress.ip_address(host.strip("[]")).compressed
    except ValueError:
        return host.lower()


def _value(v: str | None) -> str | None:
    return None if v is None else unquote(v).lower()


def _params_equal(a: dict, b: dict, strict: tuple[str, ...]) -> bool:
    for name in set(a) | set(b):
        if name in strict and (name in a) != (name in b):
            return False
        if name in a and name in b and _value(a[name]) != _value(b[name]):
            return False
    return True


def uri_equal(a: SipUri | str | None, b: SipUri | str | None) -> bool:
    """``a`` and ``b`` (parsed, or as written) are the same URI under RFC 3261 section 19.1.4."""
    if a is None or b is None:
        return a is b
    a = parse_uri(a) if isinstance(a, str) else a
    b = parse_uri(b) if isinstance(b, str) else b
    if a.scheme != b.scheme:
        return False
    if a.scheme in ("sip", "sips"):
        if unquote(a.user or "") != unquote(b.user or "") or (a.user is None) != (b.user is None):
            return False
        if (a.password is None) != (b.password is None) or unquote(a.password or "") != unquote(b.password or ""):
            return False
        if _host(a.host) != _host(b.host) or a.port != b.port:
            return False
        if not _params_equal(a.params, b.params, STRICT_PARAMS):
            return False
        ha = {k.lower(): unquote(v) for k, v in a.headers.items()}
        hb = {k.lower(): unquote(v) for k, v in b.headers.items()}
        return ha == hb
    if a.scheme == "tel":
        if _VISUAL.sub("", a.user or "").lower() != _VISUAL.sub("", b.user or "").lower():
            return False
        return _params_equal(a.params, b.params, tuple(set(a.params) | set(b.params)))
    return unquote(a.raw).lower() == unquote(b.raw).lower()


def name_addr_equal(a, b) -> bool:
    """Two From/To values (:class:`~sipqual.sipmsg.NameAddr`) are equivalent (RFC 3261 section 20.20): their URIs
    are equal and the parameters both carry (the tag above all) match; display names and brackets do not count, a
    tag present in only one differs."""
    if a is None or b is None:
        return a is b
    if (a.tag is None) != (b.tag is None):
        return False
    same_params = all(_value(a.params[k]) == _value(b.params[k]) if k != "tag" else a.params[k] == b.params[k]
                      for k in set(a.params) & set(b.params))
    return same_params and (uri_equal(a.uri, b.uri) if a.uri is not None and b.uri is not None
                            else a.uri_text == b.uri_text)
