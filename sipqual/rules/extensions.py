"""Rules for SIP extensions a trunk peer meets: 100rel/PRACK (RFC 3262), asserted identity and privacy (RFC 3325,
RFC 3323), Reason (RFC 3326), session timers (RFC 4028), REFER and its implicit subscription (RFC 3515), Replaces
(RFC 3891), Diversion (RFC 5806) and History-Info (RFC 7044).

Grammar rules apply only to headers the DUT sent ("if sent"); behaviour rules compare with the request the DUT
received on the same leg.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from ..dialogs import is_reliable, leg_of, option_tags
from ..sipmsg import parse_name_addr, split_unquoted
from .registry import Scope, broken, held, rule

PRIVACY_VALUES = {"header", "session", "user", "none", "critical", "id"}
DIVERSION_REASONS = {"unknown", "user-busy", "no-answer", "unavailable", "unconditional", "time-of-day",
                     "do-not-disturb", "deflection", "follow-me", "out-of-service", "away"}
MIN_SE_FLOOR = 90
_RACK_RE = re.compile(r"(\d+)\s+(\d+)\s+([A-Za-z]+)")
_INDEX_RE = re.compile(r"\d+(\.\d+)*")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_TAG_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")                            # token (RFC 3261 section 25.1)
_WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"                        # word (RFC 3261 section 25.1)
_CALLID_RE = re.compile(rf"{_WORD}(?:@{_WORD})?")
_STATUS_LINE_RE = re.compile(r"SIP/2\.0 [1-6]\d\d(?: [^\r\n]*)?")
REFRESH_SLACK = 10.0          # seconds past SE/2 before a refresher is late (RFC 4028 section 10 says "half")
EXPIRY_SLACK = 2.0            # seconds past the expiry by which the non-refresher's BYE must be on the wire


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _params(value: str) -> tuple[str, dict[str, str | None]]:
    """``token;a=1;b`` -> ("token", {"a": "1", "b": None}) for headers that are not name-addr based."""
    first, *rest = split_unquoted(value, ";")
    params: dict[str, str | None] = {}
    for item in rest:
        key, eq, val = item.strip().partition("=")
        if key:
            params.setdefault(key.strip().lower(), val.strip() if eq else None)
    return first.strip(), params


# ---- RFC 3262 -----------------------------------------------------------------------------------------------------

@rule("RFC3262-01", "M", Scope.TRANSACTION, "a reliable 18x only to a request with 100rel in Supported/Require; "
      "never a reliable 100 (3)")
def reliable_only_if_offered(t, model):
    """M: a peer that did not offer 100rel never PRACKs, so the DUT retransmits and then fails the call."""
    if t.server not in model.dut:
        return
    asked = "100rel" in option_tags(t.request.msg, "Supported") | option_tags(t.request.msg, "Require")
    for r in t.responses:
        m = r.msg
        if "100rel" not in option_tags(m, "Require"):
            continue
        if m.status == 100:
            yield broken("no Require: 100rel in 100 Trying", "100 sent reliably", r.frame)
            continue
        want = f"a reliable {m.status} only when the request (frame {t.request.frame}) supports 100rel"
        yield held(want, r.frame) if asked else broken(want, "request without 100rel", r.frame)


RSEQ_MAX = 2 ** 31 - 1


@rule("RFC3262-02", "O", Scope.TRANSACTION, "RSeq of the first reliable provisional response in 1..2^31-1, one "
      "higher for each further one to the same request; a retransmission repeats its RSeq (3)")
def rseq_sequence(t, model):
    """Per early dialog (To tag): a downstream fork gives each UAS its own RSeq space. Retransmissions (same status,
    tag and RSeq) are not new responses. Whether the DUT retransmits an unacknowledged reliable 18x is an active
    test (the suite withholds the PRACK), not a passive rule."""
    if t.server not in model.dut:
        return
    last: dict[str | None, tuple[int, int]] = {}     # To tag -> (RSeq, frame) of the latest new reliable 18x
    for r in t.responses:
        m = r.msg
        if not is_reliable(m) or model.is_retransmission(r):
            continue
        rseq, tag = _int(m.get("RSeq")), m.to.tag if m.to else None
        prev = last.get(tag)
        if prev is None:
            want = f"RSeq of the first reliable {m.status} in 1..{RSEQ_MAX}"
            ok = rseq is not None and 1 <= rseq <= RSEQ_MAX
        else:
            want = f"RSeq {prev[0] + 1} on the reliable {m.status} after RSeq {prev[0]} (frame {prev[1]})"
            ok = rseq == prev[0] + 1
        yield held(want, r.frame) if ok else broken(want, f"RSeq: {m.get('RSeq')}", r.frame)
        if rseq is not None:
            last[tag] = (rseq, r.frame)


@rule("RFC3262-03", "O", Scope.MESSAGE, "PRACK carries RAck: <RSeq> <CSeq number> <method> of a reliable 18x "
      "received on the leg (7.2)")
def rack(p, model):
    m = p.msg
    if not m.is_request or m.method != "PRACK":
        return
    want = "RAck naming a reliable provisional response received before the PRACK"
    parsed = _RACK_RE.fullmatch((m.get("RAck") or "").strip())
    if parsed is None:
        yield broken(want, repr(m.get("RAck")), p.frame)
        return
    rseq, num, method = int(parsed.group(1)), int(parsed.group(2)), parsed.group(3)
    match = [q for q in model.packets_with_call_id(m.call_id) if q.dst == p.src and leg_of(q) == leg_of(p)
             and q.time <= p.time and is_reliable(q.msg) and _int(q.msg.get("RSeq")) == rseq
             and q.msg.cseq.seq == num and q.msg.cseq.method == method]
    yield held(want, match[-1].frame, p.frame) if match else broken(want, f"RAck {parsed.group(0)} matches none",
                                                                     p.frame)


@rule("RFC3262-04", "M", Scope.MESSAGE, "no Require: 100rel in INVITE toward a peer that may not support it "
      "(4; SIG-05)", requirements=["SIG-05"])
def no_require_100rel(p, model):
    """M: a Mediation Server that does not support 100rel answers 420 and the call fails (SIG-05)."""
    m = p.msg
    if m.is_request and m.method == "INVITE":
        want = "INVITE without Require: 100rel"
        yield broken(want, f"Require: {m.get('Require')}", p.frame) if "100rel" in option_tags(m, "Require") else \
            held(want, p.frame)


# ---- RFC 3325 / 3323 ----------------------------------------------------------------------------------------------

@rule("RFC3325-01", "R", Scope.MESSAGE, "P-Asserted-Identity: one or two values; two are one sip/sips and one tel "
      "URI (9.1)")
def asserted_identity(p, model):
    """R (requirements.md: M if sent): a malformed PAI is ignored by the receiving trust domain, which then presents
    the From identity; no transaction, dialog or call depends on it."""
    m = p.msg
    if not m.has("P-Asserted-Identity"):
        return
    values = [parse_name_addr(v) for v in m.values("P-Asserted-Identity")]
    schemes = [v.uri.scheme if v.uri else "?" for v in values]
    want = "one P-Asserted-Identity, or one sip/sips and one tel"
    ok = (len(values) == 1 and schemes[0] in ("sip", "sips", "tel")) or (
        len(values) == 2 and sorted(s.replace("sips", "sip") for s in schemes) == ["sip", "tel"])
    yield held(want, p.frame) if ok else broken(want, f"{len(values)} value(s) with schemes {schemes}", p.frame)


@rule("RFC3325-02", "M", Scope.MESSAGE, "Privacy values from header, session, user, none, critical, id (RFC 3323 "
      "4.2, RFC 3325 9.3)")
def privacy_values(p, model):
    """M: a privacy request the peer does not understand is not honoured, so an identity that must be withheld may
    be shown (a regulatory fault, not a letter one)."""
    m = p.msg
    for line in m.values("Privacy"):
        tokens = [t.strip().lower() for t in re.split(r"[;,]", line)]
        bad = [t for t in tokens if t not in PRIVACY_VALUES]
        want = f"Privacy values from {sorted(PRIVACY_VALUES)}"
        yield broken(want, repr(line), p.frame) if bad else held(want, p.frame)


def _is_anonymous(na) -> bool:
    uri = na.uri
    return bool((na.display or "").strip().lower() == "anonymous" or (
        uri is not None and ((uri.user or "").lower() == "anonymous" or uri.host.lower() == "anonymous.invalid")))


@rule("RFC3323-01", "R", Scope.MESSAGE, 'an anonymous From is "Anonymous" <sip:anonymous@anonymous.invalid> '
      "(4.1.1.3)")
def anonymous_from(p, model):
    m = p.msg
    na = m.from_
    if not m.is_request or na is None or len(m.vias) != 1 or not _is_anonymous(na):
        return
    uri = na.uri
    ok = ((na.display or "").lower() == "anonymous" and uri is not None and uri.scheme in ("sip", "sips")
          and uri.user == "anonymous" and uri.host.lower() == "anonymous.invalid")
    want = 'From "Anonymous" <sip:anonymous@anonymous.invalid> in an anonymous request'
    yield held(want, p.frame) if ok else broken(want, repr(m.get("From")), p.frame)


# ---- RFC 3326 -----------------------------------------------------------------------------------------------------

@rule("RFC3326-01", "R", Scope.MESSAGE, 'Reason: Q.850;cause=0..127 or SIP;cause=<status>[;text="..."] (2)')
def reason(p, model):
    for value in p.msg.values("Reason"):
        yield _reason_value(value, p.frame)


def _reason_value(value: str, frame: int):
    protocol, params = _params(value)
    cause = _int(params.get("cause"))
    text = params.get("text")
    want = 'Reason: <protocol>;cause=<number>[;text="quoted"] with Q.850 cause 0-127 or SIP cause 100-699'
    if not re.fullmatch(r"[A-Za-z0-9.\-_!%*+`'~]+", protocol) or cause is None:
        return broken(want, repr(value), frame)
    limits = {"q.850": (0, 127), "sip": (100, 699)}.get(protocol.lower())
    if limits and not limits[0] <= cause <= limits[1]:
        return broken(want, f"{protocol} cause {cause}", frame)
    if text is not None and not _QUOTED_RE.fullmatch(text):
        return broken(want, f"unquoted text {text!r}", frame)
    return held(want, frame)


# ---- RFC 4028 -----------------------------------------------------------------------------------------------------

def _session_expires(m) -> tuple[int | None, str | None] | None:
    value = m.get("Session-Expires")
    if value is None:
        return None
    delta, params = _params(value)
    return _int(delta), params.get("refresher")


@rule("RFC4028-01", "M", Scope.MESSAGE, "Session-Expires and Min-SE are at least 90 s, Session-Expires not below "
      "Min-SE, refresher uac/uas (4, 5)")
def session_timer_values(p, model):
    """M: a Session-Expires below the peer's Min-SE is answered 422, an unparseable value or refresher 400."""
    m = p.msg
    se = _session_expires(m)
    min_se = _int(_params(m.get("Min-SE") or "")[0]) if m.has("Min-SE") else None
    if m.has("Min-SE"):
        want = f"Min-SE at least {MIN_SE_FLOOR}"
        ok = min_se is not None and min_se >= MIN_SE_FLOOR
        yield held(want, p.frame) if ok else broken(want, repr(m.get("Min-SE")), p.frame)
    if se is None:
        return
    floor = max(MIN_SE_FLOOR, min_se or 0)
    want = f"Session-Expires at least {floor}"
    yield held(want, p.frame) if se[0] is not None and se[0] >= floor else \
        broken(want, repr(m.get("Session-Expires")), p.frame)
    if se[1] is not None:
        want = "refresher=uac or refresher=uas"
        yield held(want, p.frame) if se[1].lower() in ("uac", "uas") else broken(want, f"refresher={se[1]}", p.frame)


@rule("RFC4028-03", "M", Scope.TRANSACTION, "a 2xx with Session-Expires to a request with Supported: timer names "
      "the refresher and keeps Session-Expires at or above the request's Min-SE; a 2xx with Require: timer has "
      "Session-Expires (9)")
def uas_session_timer(t, model):
    """M: without a named refresher nobody refreshes and the call is torn down at expiry."""
    if t.server not in model.dut or t.method not in ("INVITE", "UPDATE"):
        return
    req = t.request.msg
    if "timer" not in option_tags(req, "Supported") | option_tags(req, "Require"):
        return
    min_se = _int(_params(req.get("Min-SE") or "")[0]) or MIN_SE_FLOOR
    for r in t.responses:
        m = r.msg
        if not 200 <= m.status < 300 or model.is_retransmission(r):
            continue
        se = _session_expires(m)
        if se is None:
            if "timer" in option_tags(m, "Require"):
                yield broken("Session-Expires in a 2xx with Require: timer", "none", r.frame)
            continue
        want = f"refresher=uac|uas in the {m.status}'s Session-Expires (request frame {t.request.frame})"
        yield held(want, r.frame) if (se[1] or "").lower() in ("uac", "uas") else \
            broken(want, repr(m.get("Session-Expires")), r.frame)
        want = f"Session-Expires at or above the request's Min-SE {min_se}"
        yield held(want, r.frame) if se[0] is not None and se[0] >= min_se else \
            broken(want, repr(m.get("Session-Expires")), r.frame)


@rule("RFC4028-05", "R", Scope.MESSAGE, "a request with Session-Expires advertises Supported: timer; an initial "
      "INVITE does not Require: timer (7.1)")
def timer_option_tags(p, model):
    m = p.msg
    if not m.is_request or m.method == "ACK":
        return
    if m.has("Session-Expires"):
        want = f"Supported: timer in {m.method} with Session-Expires"
        yield held(want, p.frame) if "timer" in option_tags(m, "Supported") else \
            broken(want, f"Supported: {', '.join(m.supported) or 'none'}", p.frame)
    if m.method == "INVITE" and not (m.to and m.to.tag):
        want = "no Require: timer in an initial INVITE"
        yield broken(want, f"Require: {m.get('Require')}", p.frame) if "timer" in option_tags(m, "Require") else \
            held(want, p.frame)


_REFRESH_METHODS = ("INVITE", "UPDATE")


@rule("RFC4028-04", "M", Scope.DIALOG, "the refresher named in a 2xx's Session-Expires sends a refresh (re-INVITE or "
      "UPDATE) within about half the interval; a non-refresher left without refresh sends BYE before expiry (10)")
def session_refresh(d, model):
    """Passive part, judged per 2xx (to INVITE or UPDATE) with Session-Expires: N;refresher=uac|uas in the dialog.
    Any re-INVITE or UPDATE by either side refreshes the session (RFC 4028 section 10) and a BYE ends it, so only the
    first such request after the 2xx counts. DUT refresher: that request must come from the DUT within N/2 + 10 s.
    DUT not refresher: if no refresh came before expiry (2xx + N), the DUT must have sent BYE by then (+2 s); the RFC
    recommends min(32, N/3) s before expiry, which is not demanded. Nothing is judged while the capture ends before
    the deadline, nor on a 2xx without refresher. A DUT refresher that ends the call with BYE instead is excused when,
    within 2 s, it also ended a session on another of its dialogs whose refresher (its peer there) was overdue: a proxy
    or SBC is the nominal refresher of its far leg only because it relays the Mediation side's refreshes (TC-ST-04
    withholds them). The active part (the suite withholds its refreshes and waits for the DUT's BYE) is TC-level."""
    ends = [(i, p) for i, p in enumerate(d.packets) if p.msg.is_request and p.msg.method in (*_REFRESH_METHODS, "BYE")]
    positions = [i for i, _ in ends]
    for i, r in enumerate(d.packets):
        m = r.msg
        if m.is_request or not 200 <= m.status < 300 or m.cseq_method not in _REFRESH_METHODS:
            continue
        se = _session_expires(m)
        if se is None or se[0] is None or (se[1] or "").lower() not in ("uac", "uas"):
            continue
        interval, side = se[0], se[1].lower()
        refresher = r.dst if side == "uac" else r.src
        k = bisect_right(positions, i)
        nxt = ends[k][1] if k < len(ends) else None
        for end in sorted(d.leg & model.dut):      # both ends when every sender is judged
            if end == refresher:
                yield from _refresher_due(r, interval, side, nxt, end, model)
            elif refresher not in model.device_of(end):
                yield from _expiry_bye_due(r, interval, side, nxt, end, model)


def _at(p, since) -> str:
    return f"{p.msg.method} at +{p.time - since.time:.0f} s"


def _refresher_due(r, interval: int, side: str, nxt, end: str, model):
    deadline = r.time + interval / 2 + REFRESH_SLACK
    want = (f"a session refresh (re-INVITE or UPDATE) by the DUT, refresher={side} in the {r.msg.status} (frame "
            f"{r.frame}), within {interval}/2 + {REFRESH_SLACK:.0f} s")
    if nxt is not None and nxt.time <= deadline:
        if nxt.src in model.device_of(end) and nxt.msg.method in _REFRESH_METHODS:
            yield held(want, r.frame, nxt.frame)
        return                        # the session ended, or the peer refreshed it first
    if nxt is not None and nxt.msg.method == "BYE" and nxt.src in model.device_of(end):
        cause = next((b for b in _expiry_byes(model) if b is not nxt and b.src in model.device_of(end)
                      and abs(b.time - nxt.time) <= RELAYED_END), None)
        if cause is not None:         # the call ended because the refresh the DUT relays never came on its other leg
            yield held(f"{want}: none due, the DUT ended the call (frame {nxt.frame}) when the refresher of its other "
                       f"leg let that session expire (BYE frame {cause.frame})", r.frame, nxt.frame)
            return
    if nxt is not None:
        yield broken(want, f"first {_at(nxt, r)}", nxt.frame)
    elif model.end_time > deadline:
        yield broken(want, f"none; the capture runs on to +{model.end_time - r.time:.0f} s", r.frame)


RELAYED_END = 2.0             # seconds between the DUT's BYEs on its two legs when it ends one call


def _expiry_byes(model) -> list:
    """The DUT's BYEs that end a session whose refresher (the DUT's peer on that leg) was overdue: an SBC or proxy
    then ends the call on its other leg too, where it may be the nominal refresher only because it relays the
    refreshes that never came. Computed once per model."""
    cached = model.memo.get("RFC4028-04 expiry BYEs")
    if cached is not None:
        return cached
    out = model.memo["RFC4028-04 expiry BYEs"] = []
    for d in model.dut_dialogs:
        ends = [p for p in d.packets if p.msg.is_request and p.msg.method in (*_REFRESH_METHODS, "BYE")]
        for r in d.packets:
            m = r.msg
            if m.is_request or not 200 <= m.status < 300 or m.cseq_method not in _REFRESH_METHODS:
                continue
            se = _session_expires(m)
            if se is None or se[0] is None or (se[1] or "").lower() not in ("uac", "uas"):
                continue
            refresher = r.dst if se[1].lower() == "uac" else r.src
            if refresher in model.dut:
                continue
            nxt = next((p for p in ends if p.time > r.time), None)
            if nxt is not None and nxt.msg.method == "BYE" and nxt.src in model.dut and \
                    r.time + se[0] / 2 + REFRESH_SLACK < nxt.time <= r.time + se[0] + EXPIRY_SLACK:
                out.append(nxt)
    return out


def _expiry_bye_due(r, interval: int, side: str, nxt, end: str, model):
    expiry = r.time + interval
    want = (f"a BYE from the DUT before the session expires at +{interval} s (refresher={side} in the "
            f"{r.msg.status}, frame {r.frame}) when no refresh arrives")
    if nxt is not None and nxt.time <= expiry + EXPIRY_SLACK:
        if nxt.src in model.device_of(end) and nxt.msg.method == "BYE" and \
                nxt.time > r.time + interval / 2 + REFRESH_SLACK:
            yield held(want, r.frame, nxt.frame)   # the refresher was overdue and the DUT closed the session
        return
    if nxt is not None:
        yield broken(want, f"first {_at(nxt, r)}", nxt.frame)
    elif model.end_time > expiry + EXPIRY_SLACK:
        yield broken(want, f"none; the capture runs on to +{model.end_time - r.time:.0f} s", r.frame)


# ---- RFC 3515 / 3891 ----------------------------------------------------------------------------------------------

def _refer_to_values(m) -> list[str]:
    """Refer-To values, also those comma-joined on one line (RFC 3515 allows exactly one)."""
    return [v.strip() for line in m.values("Refer-To") for v in split_unquoted(line, ",") if v.strip()]


@rule("RFC3515-01", "O", Scope.MESSAGE, "a REFER carries exactly one Refer-To, a name-addr or addr-spec URI (2.4.1)")
def refer_to(p, model):
    """Passive half: the REFERs the DUT sends. That a REFER sent to the DUT is accepted with 202 is an active test."""
    m = p.msg
    if not m.is_request or m.method != "REFER" or model.is_retransmission(p):
        return
    values = _refer_to_values(m)
    want = "exactly one Refer-To in REFER"
    if len(values) != 1:
        yield broken(want, f"{len(values) or 'no'} Refer-To values", p.frame)
        return
    yield held(want, p.frame)
    na = parse_name_addr(values[0])
    want = "a Refer-To name-addr or addr-spec with a URI"
    ok = na.uri is not None and na.uri.scheme and not na.defects
    yield held(want, p.frame) if ok else broken(want, f"{values[0]!r} ({'; '.join(na.defects) or 'no URI'})",
                                                p.frame)


def _event(m) -> tuple[str, dict[str, str | None]] | None:
    value = m.get("Event")
    if value is None:
        return None
    package, params = _params(value)
    return package.lower(), params


@rule("RFC3515-02", "O", Scope.MESSAGE, "a NOTIFY of a REFER's implicit subscription has Event: refer (with id= when "
      "the dialog had several REFERs), Subscription-State and a message/sipfrag body starting with a status line "
      "(2.4.4-2.4.6)")
def refer_notify(p, model):
    """Judges the NOTIFYs the DUT sends with Event: refer, and those it sends back to the sender of a REFER it received
    (same leg and Call-ID, To tag = the REFER's From tag: in the REFER's dialog, or the one its 202 made) unless they
    name another event package without a sipfrag body (another subscription sharing the dialog). With more than one
    REFER in that dialog the Event must carry id=<CSeq number of one of them>. Whether the final NOTIFY terminates
    the subscription is not judged."""
    m = p.msg
    if not m.is_request or m.method != "NOTIFY" or model.is_retransmission(p):
        return
    event = _event(m)
    ctype = (m.get("Content-Type") or "").split(";")[0].strip().lower()
    refers = model.refers_notified_by(p)
    if not ((event is not None and event[0] == "refer") or
            (refers and (event is None or ctype == "message/sipfrag"))):
        return
    want = "Event: refer in a NOTIFY of a REFER's subscription"
    if event is None or event[0] != "refer":
        yield broken(want, f"Event: {m.get('Event')}" if event else "no Event", p.frame)
    elif len(refers) > 1:
        ids = {str(r.msg.cseq.seq) for r in refers}
        want = f"Event: refer;id=<CSeq of one of the REFERs, frames {', '.join(str(r.frame) for r in refers)}>"
        got = event[1].get("id")
        yield held(want, p.frame) if got in ids else broken(want, f"Event: {m.get('Event')}", p.frame)
    else:
        yield held(want, p.frame)
    want = "Subscription-State in a NOTIFY"
    state = (m.get("Subscription-State") or "").split(";")[0].strip()
    yield held(want, p.frame) if state else broken(want, repr(m.get("Subscription-State")) if m.has(
        "Subscription-State") else "none", p.frame)
    want = "a message/sipfrag body starting with a SIP status line"
    first = m.body.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if ctype != "message/sipfrag":
        yield broken(want, f"Content-Type: {m.get('Content-Type')}" if ctype else "no Content-Type", p.frame)
    else:
        yield held(want, p.frame) if _STATUS_LINE_RE.fullmatch(first) else broken(want, repr(first[:60]), p.frame)


def _replaces_problems(value: str) -> list[str]:
    """What is wrong with a Replaces value: callid *(;to-tag=token / ;from-tag=token / ;early-only / ;generic)."""
    callid, *items = split_unquoted(value, ";")
    problems = [] if _CALLID_RE.fullmatch(callid.strip()) else [f"call-id {callid.strip()!r}"]
    tags = {"to-tag": [], "from-tag": []}
    for item in items:
        key, eq, val = item.strip().partition("=")
        key = key.strip().lower()
        if key in tags:
            tags[key].append(val.strip() if eq else None)
        elif key == "early-only" and eq:
            problems.append(f"early-only={val.strip()}")
    for key, found in tags.items():
        if len(found) != 1:
            problems.append(f"{len(found)} {key}")
        elif found[0] is None or not _TAG_RE.fullmatch(found[0]):
            problems.append(f"{key}={found[0]!r}")
    return problems


@rule("RFC3891-01", "O", Scope.MESSAGE, "a Replaces the DUT sends, as a header or inside a Refer-To URI, is "
      "call-id;to-tag=..;from-tag=..[;early-only] with both tags, at most one per request (6.1)")
def replaces(p, model):
    """Grammar only; that an INVITE with a Replaces matching no dialog is answered 481 is an active test."""
    m = p.msg
    values = [(v, "Replaces") for v in m.values("Replaces")]
    if m.is_request and m.method == "REFER":
        for v in _refer_to_values(m):
            uri = parse_name_addr(v).uri
            values += [(text, "Refer-To URI Replaces") for name, text in (uri.headers.items() if uri else ())
                       if name.lower() == "replaces"]
    if m.count("Replaces") > 1:
        yield broken("at most one Replaces header", f"{m.count('Replaces')}", p.frame)
    for value, where in values:
        problems = _replaces_problems(value)
        want = f"{where} call-id;to-tag=..;from-tag=..[;early-only]"
        yield broken(want, f"{'; '.join(problems)} in {value!r}", p.frame) if problems else held(want, p.frame)


# ---- RFC 5806 / 7044 ----------------------------------------------------------------------------------------------

@rule("RFC5806-01", "O", Scope.MESSAGE, "Diversion = name-addr;reason=<registered>[;counter][;limit][;privacy]"
      "[;screen] (if sent)")
def diversion(p, model):
    for value in p.msg.values("Diversion"):
        na = parse_name_addr(value)
        reason = (na.params.get("reason") or "").strip('"').lower()
        problems = []
        if na.uri is None or na.defects:
            problems.append("not a name-addr")
        if reason not in DIVERSION_REASONS:
            problems.append(f"reason={na.params.get('reason')}")
        for name in ("counter", "limit"):
            if name in na.params and _int(na.params[name]) is None:
                problems.append(f"{name}={na.params[name]}")
        if "privacy" in na.params and (na.params["privacy"] or "").strip('"').lower() not in ("full", "name", "uri",
                                                                                              "off"):
            problems.append(f"privacy={na.params['privacy']}")
        if "screen" in na.params and (na.params["screen"] or "").strip('"').lower() not in ("yes", "no"):
            problems.append(f"screen={na.params['screen']}")
        want = "Diversion name-addr with a registered reason and numeric counter/limit"
        yield broken(want, f"{'; '.join(problems)} in {value!r}", p.frame) if problems else held(want, p.frame)


@rule("RFC7044-01", "O", Scope.MESSAGE, "History-Info entries are name-addr;index=<n[.n]*>, indices unique, "
      "rc/mp/np naming an earlier entry (if sent)")
def history_info(p, model):
    entries = [parse_name_addr(v) for v in p.msg.values("History-Info")]
    if not entries:
        return
    seen: list[str] = []
    problems = []
    for na in entries:
        index = na.params.get("index")
        if na.uri is None or index is None or not _INDEX_RE.fullmatch(index):
            problems.append(f"entry {na.uri_text!r} index={index!r}")
            continue
        if index in seen:
            problems.append(f"index {index} twice")
        for tag in ("rc", "mp", "np"):
            if tag in na.params and na.params[tag] is not None and na.params[tag] not in seen:
                problems.append(f"{tag}={na.params[tag]} names no earlier entry")
        seen.append(index)
    want = "History-Info entries with unique index and rc/mp/np naming earlier entries"
    yield broken(want, "; ".join(problems), p.frame) if problems else held(want, p.frame)
