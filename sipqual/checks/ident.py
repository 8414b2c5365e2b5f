"""Checks of suites ID and NUM: the number FORMAT and the identity the DUT sends on each leg.

Numbers are read from URIs as RFC 3261 (section 19.1.1: a telephone-subscriber user part, ``user=phone``) and RFC
3966 (the global number's "+", visual separators ``-.()`` that do not count, %HEX escapes) define them, never
compared as text: ``sip:+1-425-555-0123@h;user=phone`` and ``tel:+14255550123`` carry the same number,
``sip:14255550123@h;user=phone`` does not (no "+"). The DUT's request on the other leg is found by the suite's
marker and the dialled number (:func:`.common.route`), so a B2BUA (new Call-ID, tags, CSeq) is judged like a proxy.

Trust (RFC 3325 section 2, Spec(T)): both of the DUT's trunks are taken as inside its trust domain, as a Lync
direct-SIP deployment has them: the Mediation side because ForwardPAI (ID-01) makes Lync and the gateway exchange
P-Asserted-Identity, the far side because it is the operator's PSTN interconnect, which carries a withheld caller's
number with "presentation restricted". So a withheld caller's PAI is forwarded WITH ``Privacy: id`` (never dropped,
never without its Privacy), and the number never appears in From: that is "Privacy honoured". A DUT that regards a
side as untrusted and removes PAI toward it would FAIL here; such a device says so in its PICS (no ``privacy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..recording import check
from ..sipvalues import SipUri, parse_name_addr
from ..trace import SipPacket, Trace
from ..uri import uri_equal
from ..verdict import Finding, passed, violation
from .common import Leg, number_matches, route

_VISUAL = re.compile(r"[-.()]")
_DIGITS = re.compile(r"[0-9]+")


@dataclass
class Number:
    """A telephone number as a URI carries it: the global "+", the digits, user=phone (or tel:), as written."""

    plus: bool
    digits: str
    phone: bool
    text: str

    def form(self) -> str:
        return f"{'+' if self.plus else ''}{self.digits}{' user=phone' if self.phone else ''}"


def number_of(uri: SipUri | None) -> Number | None:
    """The number in a sip:/sips:/tel: URI's user part (RFC 3966 telephone-subscriber, visual separators and
    escapes removed), or None when the user part is not a number (an alias, anonymous, none)."""
    if uri is None or uri.scheme not in ("sip", "sips", "tel") or not uri.user:
        return None
    user = _VISUAL.sub("", unquote(uri.user).split(";")[0])
    plus = user.startswith("+")
    digits = user[1:] if plus else user
    if not _DIGITS.fullmatch(digits or "x"):
        return None
    phone = uri.scheme == "tel" or (uri.params.get("user") or "").lower() == "phone"
    return Number(plus, digits, phone, uri.raw)


def _want(number: str, plus: bool) -> str:
    return f"{'+' if plus else ''}{number.lstrip('+')}"


def _uri_number(where: str, uri: SipUri | None, number: str, plus: bool, frame: int, rule: str,
                reqs: list[str], sev: str, exact: bool = True) -> Finding:
    """One URI must carry ``number`` with (``plus``) or without the leading "+", and user=phone (or tel:).
    ``exact=False``: the digits need only end with the subscriber digits (the DUT may translate toward the PSTN)."""
    want = f"{where} {_want(number, plus)} with user=phone"
    n = number_of(uri)
    seen = uri.raw if uri is not None else "none"
    if n is None:
        return violation(rule, reqs, sev, want, f"{seen} (no number in its user part)", frame)
    same = n.digits == number.lstrip("+") if exact else number_matches(n.digits, number)
    if not same:
        return violation(rule, reqs, sev, want, f"{seen} (digits {n.digits})", frame)
    if exact and n.plus != plus:
        what = "the leading '+' stripped" if plus else "a leading '+' added"
        return violation(rule, reqs, sev, want, f"{seen} ({what})", frame)
    if exact and not n.phone:
        return violation(rule, reqs, sev, want, f"{seen} (no user=phone)", frame)
    return passed(rule, reqs, sev, f"{where} {n.form()}", frame)


def _pais(p: SipPacket) -> list[SipUri]:
    out = []
    for v in p.msg.values("P-Asserted-Identity"):
        na = parse_name_addr(v)
        if na.uri is not None:
            out.append(na.uri)
    return out


def _privacy(p: SipPacket) -> set[str]:
    """RFC 3323 priv-values of the Privacy header (``;``-separated, case-insensitive)."""
    return {v.strip().lower() for h in p.msg.values("Privacy") for v in h.split(";") if v.strip()}


def _routed(trace: Trace, spec) -> tuple[SipPacket, Leg, SipPacket, Leg] | list[Finding]:
    r = route(trace, spec)
    return [r] if isinstance(r, Finding) else r


@check
def numbers_sent(trace: Trace, *, spec, called: str, caller: str, plus: bool, rule: str,
                 requirements: list[str], severity: str, exact_called: bool = True,
                 exact_caller: bool = True) -> list[Finding]:
    """The DUT's INVITE toward the callee carries ``called`` in its Request-URI and To and ``caller`` in its From
    (and in every P-Asserted-Identity that carries a number), each with the leading "+" when ``plus`` (without it
    otherwise) and user=phone; ``exact_*=False`` (toward the PSTN, where a DUT may translate): the subscriber digits
    only. A DUT that strips or adds a "+" FAILs even when the call connects."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    _ours, _a, theirs, _b = r
    m, f = theirs.msg, theirs.frame
    out = [_uri_number("Request-URI", m.request_uri, called, plus, f, rule, requirements, severity, exact_called),
           _uri_number("To", m.to.uri if m.to else None, called, plus, f, rule, requirements, severity,
                       exact_called),
           _uri_number("From", m.from_.uri if m.from_ else None, caller, plus, f, rule, requirements, severity,
                       exact_caller)]
    for uri in _pais(theirs):
        if number_of(uri) is not None:
            out.append(_uri_number("P-Asserted-Identity", uri, caller, plus, f, rule, requirements, severity,
                                   exact_caller))
    return out


@check
def to_kept_toward_caller(trace: Trace, *, spec, rule: str, requirements: list[str], severity: str) -> list[Finding]:
    """Toward the caller (the Mediation side of an OUT call) the DUT's responses carry the caller's own To URI
    (RFC 3261 section 8.2.6.2, compared by section 19.1.4): a DUT that rewrites the number's format there (strips or
    adds a "+") FAILs; a P-Asserted-Identity it adds (the connected number) carries the called number in the
    caller's own format."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    ours, a, _theirs, _b = r
    sent = ours.msg.to.uri if ours.msg.to else None
    out = []
    for p in a.responses():
        if p.src != spec.dut_in_ip or not p.msg.status or p.msg.status == 100:
            continue
        to = p.msg.to.uri if p.msg.to else None
        if not uri_equal(to, sent):
            return [violation(rule, requirements, severity, f"To {sent.raw if sent else '?'} in the DUT's "
                              f"{p.msg.status} to the caller, as the caller sent it (frame {ours.frame})",
                              to.raw if to else "no To", p.frame)]
        mine = number_of(sent)
        for uri in _pais(p):
            n = number_of(uri)
            if n is not None and mine is not None and n.plus != mine.plus:
                return [violation(rule, requirements, severity, f"P-Asserted-Identity in the caller's number "
                                  f"format ({mine.form()})", f"{uri.raw}", p.frame)]
        out.append(p)
    if not out:
        return []
    return [passed(rule, requirements, severity, f"To kept in {len(out)} response(s) to the caller", out[-1].frame)]


def _anonymous_from(p: SipPacket, caller: str, rule: str, reqs: list[str], sev: str) -> Finding:
    """The From of a withheld caller must not carry the number (in its URI or display name)."""
    fr = p.msg.from_
    uri = fr.uri if fr else None
    n = number_of(uri)
    shown = (fr.display or "") if fr else ""
    if (n is not None and number_matches(n.digits, caller)) or number_matches(_VISUAL.sub("", shown), caller):
        return violation(rule, reqs, sev, "an anonymous From (RFC 3323: the caller's number withheld)",
                         f"From {p.msg.get('From')} (the withheld number presented)", p.frame)
    return passed(rule, reqs, sev, f"From {p.msg.get('From')} withholds the number", p.frame)


def _asserted_private(p: SipPacket, caller: str, plus: bool | None, rule: str, reqs: list[str],
                      sev: str) -> list[Finding]:
    """PAI forwarded with the caller's number, marked ``Privacy: id`` (RFC 3325 section 9.3)."""
    pais = [u for u in _pais(p) if number_of(u) is not None and number_matches(number_of(u).digits, caller)]
    if not pais:
        return [violation(rule, reqs, sev, f"a P-Asserted-Identity with the caller {caller} (the trunk is trusted: "
                          f"ForwardPAI)", "PAI dropped" if not p.msg.has("P-Asserted-Identity")
                          else f"P-Asserted-Identity {p.msg.get('P-Asserted-Identity')}", p.frame)]
    out = []
    if plus is not None:
        out.append(_uri_number("P-Asserted-Identity", pais[0], caller, plus, p.frame, rule, reqs, sev))
    priv = _privacy(p)
    if "id" not in priv:
        out.append(violation(rule, reqs, sev, "Privacy: id with the P-Asserted-Identity of a withheld caller "
                             "(RFC 3325 section 9.3)", f"Privacy: {p.msg.get('Privacy')}" if priv else
                             "no Privacy header (Privacy ignored: the next hop would present the number)", p.frame))
    else:
        out.append(passed(rule, reqs, sev, f"PAI {pais[0].raw} with Privacy: {p.msg.get('Privacy')}", p.frame))
    return out


@check
def withheld_caller(trace: Trace, *, spec, caller: str, plus: bool | None, rule: str, requirements: list[str],
                    severity: str) -> list[Finding]:
    """A withheld caller (anonymous From + PAI + Privacy: id from our side) reaches the callee withheld: the DUT's
    INVITE has no number in From and forwards the PAI with ``caller`` (in the "+" form when ``plus`` is True,
    without when False, either when None) and Privacy: id (see the module's trust note)."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    return [_anonymous_from(theirs, caller, rule, requirements, severity),
            *_asserted_private(theirs, caller, plus, rule, requirements, severity)]


@check
def asserted_caller(trace: Trace, *, spec, caller: str, plus: bool, rule: str, requirements: list[str],
                    severity: str) -> list[Finding]:
    """A presented caller asserted by PAI reaches the callee with a PAI carrying ``caller`` in the expected format
    (ForwardPAI: PAI in both directions); a DUT that drops it FAILs."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    pais = [u for u in _pais(theirs) if number_of(u) is not None]
    if not pais:
        return [violation(rule, requirements, severity, f"a P-Asserted-Identity with the caller {caller}",
                          "PAI dropped", theirs.frame)]
    return [_uri_number("P-Asserted-Identity", pais[0], caller, plus, theirs.frame, rule, requirements, severity)]


@check
def restricted_presentation(trace: Trace, *, spec, alias: str, rule: str, requirements: list[str],
                            severity: str) -> list[Finding]:
    """Lync hides the caller by sending its user's alias in From (no number, no user=phone). Toward the PSTN the
    DUT must present the call restricted (an anonymous From or a Privacy header other than "none") or with its
    default number (a number in From or PAI), never the alias as it came."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    m = theirs.msg
    fr = m.from_.uri if m.from_ else None
    priv = _privacy(theirs) - {"none"}
    numbers = [u for u in [fr, *_pais(theirs)] if number_of(u) is not None]
    anon = fr is not None and ((fr.user or "").lower() == "anonymous" or fr.host.lower() == "anonymous.invalid")
    if priv or anon:
        return [passed(rule, requirements, severity, f"presentation restricted: From {m.get('From')}"
                       f"{', Privacy: ' + m.get('Privacy') if priv else ''}", theirs.frame)]
    if numbers:
        return [passed(rule, requirements, severity, f"default number presented: {numbers[0].raw}", theirs.frame)]
    return [violation(rule, requirements, severity, "restricted presentation (anonymous From or Privacy) or a "
                      f"default number toward the PSTN for Lync's alias From {alias!r}",
                      f"From {m.get('From')} without Privacy", theirs.frame)]


# ------------------------------------------------------------------------------------ redirection (ID-06, ID-07)

_INDEX = re.compile(r"[0-9]+(\.[0-9]+)*")
_DIV_REASONS = {"unknown", "user-busy", "no-answer", "unavailable", "unconditional", "time-of-day",
                "do-not-disturb", "deflection", "follow-me", "out-of-service", "away"}
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")


def diversion_defects(value: str) -> list[str]:
    """RFC 5806 section 4: ``Diversion: name-addr *(; diversion-params)``: reason (a known reason or a token),
    counter (1*2DIGIT), limit (1*2DIGIT), privacy (full/name/uri/off), screen (yes/no), extension tokens."""
    na = parse_name_addr(value)
    bad = list(na.defects)
    if "<" not in value.split(";")[0] and na.uri is not None:
        bad.append("not a name-addr (the URI must be in <...>)")
    p = na.params
    if "reason" not in p or not p["reason"] or not _TOKEN.fullmatch(p["reason"].strip('"')):
        bad.append("no reason parameter" if "reason" not in p else f"bad reason {p['reason']!r}")
    for k in ("counter", "limit"):
        if k in p and not re.fullmatch(r"[0-9]{1,2}", p[k] or ""):
            bad.append(f"bad {k} {p[k]!r}")
    if "privacy" in p and (p["privacy"] or "").lower() not in ("full", "name", "uri", "off"):
        bad.append(f"bad privacy {p['privacy']!r}")
    if "screen" in p and (p["screen"] or "").lower() not in ("yes", "no"):
        bad.append(f"bad screen {p['screen']!r}")
    return bad


def history_defects(values: list[str]) -> list[str]:
    """RFC 7044 section 5: each hi-entry is a name-addr with an ``index`` (``1*DIGIT *("." 1*DIGIT)``, unique in
    the header); rc/mp/np name an index of the header."""
    bad, seen = [], []
    for v in values:
        na = parse_name_addr(v)
        bad.extend(f"{v[:60]!r}: {d}" for d in na.defects)
        if na.uri is None or "<" not in v:
            bad.append(f"{v[:60]!r}: not a name-addr")
        idx = na.params.get("index")
        if idx is None or not _INDEX.fullmatch(idx):
            bad.append(f"{v[:60]!r}: no valid index")
        elif idx in seen:
            bad.append(f"index {idx} twice")
        else:
            seen.append(idx)
    for v in values:
        for k in ("rc", "mp", "np"):
            ref = parse_name_addr(v).params.get(k)
            if k in parse_name_addr(v).params and (ref is None or not _INDEX.fullmatch(ref)):
                bad.append(f"{v[:60]!r}: bad {k} {ref!r}")
    return bad


def _redirects(p: SipPacket) -> tuple[list[str], list[str]]:
    return p.msg.values("Diversion"), p.msg.values("History-Info")


def _syntax(p: SipPacket, rule: str, reqs: list[str], sev: str) -> list[Finding]:
    div, hist = _redirects(p)
    out = []
    for v in div:
        bad = diversion_defects(v)
        if bad:
            out.append(violation(rule, reqs, sev, "Diversion as RFC 5806 section 4 writes it",
                                 f"Diversion: {v} ({'; '.join(bad)})", p.frame))
    if hist:
        bad = history_defects(hist)
        if bad:
            out.append(violation(rule, reqs, sev, "History-Info as RFC 7044 section 5 writes it",
                                 "; ".join(bad), p.frame))
    if (div or hist) and not out:
        out.append(passed(rule, reqs, sev, f"{len(div)} Diversion and {len(hist)} History-Info entr(ies), "
                          "syntax valid", p.frame))
    return out


def _names(values: list[str], number: str) -> bool:
    for v in values:
        na = parse_name_addr(v)
        n = number_of(na.uri)
        if n is not None and number_matches(n.digits, number):
            return True
    return False


@check
def history_mapped(trace: Trace, *, spec, redirecting: str, mapping_claimed: bool, rule: str,
                   requirements: list[str], severity: str) -> list[Finding]:
    """A forwarded call from Lync with History-Info and Referred-By is routed (never 400/420/488: the call's own
    routing is judged by :func:`.calls.basic_call`); the redirection information the DUT sends on (Diversion or
    History-Info) is valid; when the DUT claims the mapping (PICS ``history_info``) it must name ``redirecting``."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    out = _syntax(theirs, rule, requirements, severity)
    div, hist = _redirects(theirs)
    if _names(div, redirecting) or _names(hist, redirecting):
        out.append(passed(rule, requirements, severity, f"redirecting number {redirecting} mapped "
                          f"({'Diversion' if _names(div, redirecting) else 'History-Info'})", theirs.frame))
    elif mapping_claimed:
        out.append(violation(rule, requirements, severity, f"the redirecting number {redirecting} in a Diversion "
                             "or History-Info toward the PSTN (PICS history_info)",
                             f"{len(div)} Diversion, {len(hist)} History-Info, none naming it", theirs.frame))
    else:
        out.append(passed(rule, requirements, severity, "forwarded call accepted; no redirecting number mapped "
                          "(not claimed)", theirs.frame))
    return out


@check
def redirect_syntax(trace: Trace, *, spec, rule: str, requirements: list[str], severity: str) -> list[Finding]:
    """Whatever Diversion (RFC 5806) or History-Info (RFC 7044) the DUT sends with a redirected call is valid;
    none at all is recorded (the DUT passes no redirection information on)."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    return _syntax(theirs, rule, requirements, severity) or [
        passed(rule, requirements, severity, "no Diversion or History-Info sent on (nothing to validate)",
               theirs.frame)]


@check
def formats_recorded(trace: Trace, *, spec, rule: str, requirements: list[str]) -> list[Finding]:
    """Informative (TC-NUM-04): the number formats the DUT sends on for a national / extension-format call, one
    finding per URI: E.164 with "+", or a local number (and whether it carries the phone-context RFC 3966 asks of
    a local number)."""
    r = _routed(trace, spec)
    if isinstance(r, list):
        return r
    theirs = r[2]
    m = theirs.msg
    out = []
    uris = [("Request-URI", m.request_uri), ("To", m.to.uri if m.to else None),
            ("From", m.from_.uri if m.from_ else None), *(("P-Asserted-Identity", u) for u in _pais(theirs))]
    for where, uri in uris:
        n = number_of(uri)
        if n is None:
            what = f"{uri.raw if uri else 'none'} (no number)"
        elif n.plus:
            what = f"{n.form()} (E.164, normalised)"
        else:
            ctx = (uri.params.get("phone-context") if uri else None)
            what = f"{n.form()} (local{', phone-context=' + ctx if ctx else ', no phone-context'})"
        out.append(passed(rule, requirements, "I", f"{where}: {what}", theirs.frame))
    return out
