"""Checks of suite ST: session timers (RFC 4028) on the DUT's Mediation leg.

Everything is judged on the leg between the DUT and our Mediation-side agent, where Lync would be: the DUT's 2xx
or INVITE there names the interval and the refresher, the DUT refreshes that leg when it is the refresher (a proxy
relays the far end's refresh, a B2BUA sends its own; which one is recorded), and ends the call with a BYE when the
refresh it waits for never comes. Our agents' own refreshes, answers and BYEs are the stimulus, never credited to the
DUT.
"""

from __future__ import annotations

import re

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared, _early_release
from .common import CallSpec, Leg, answered_call, raise_missing, route, route_held, status_text

REFRESH = ("INVITE", "UPDATE")
REFRESH_SLACK = 10.0      # the refresh may come up to SE/2 + 10 s after the 2xx (as the passive RFC4028-04)
EXPIRY_SLACK = 2.0        # a BYE at most 2 s after the session expired still counts as "at expiry"
RELAY_WINDOW = 2.0        # a DUT request within 2 s of the same method from the far side is that one, relayed
_SE = re.compile(r"^\s*(\d+)\s*(.*)$")


def session_expires(p: SipPacket | None) -> tuple[int | None, str | None] | None:
    """(interval, refresher) of a message's Session-Expires (its compact form ``x`` included);
    None without the header."""
    if p is None:
        return None
    value = p.msg.get("Session-Expires")
    if value is None:
        return None
    m = _SE.match(value)
    if not m:
        return (None, None)
    params = {k.strip().lower(): v.strip().lower() for k, _, v in
              (kv.partition("=") for kv in m.group(2).split(";") if kv.strip())}
    return int(m.group(1)), params.get("refresher")


def _se_text(p: SipPacket) -> str:
    return f"Session-Expires: {p.msg.get('Session-Expires')}"


def _in_dialog(leg: Leg, src: str, after: float, methods=(*REFRESH, "BYE")) -> list[SipPacket]:
    """Requests ``src`` sent on ``leg`` after ``after`` (first transmissions, not retransmissions of the same
    CSeq), in time order."""
    seen, out = set(), []
    for p in leg.messages:
        if p.msg.is_request and p.src == src and p.msg.method in methods and p.time > after:
            key = (p.msg.method, p.msg.cseq.seq if p.msg.cseq else None)
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def _origin(trace: Trace, p: SipPacket, spec: CallSpec, far_ip: str) -> str:
    """Whether the DUT's in-dialog request ``p`` relays one our far-side agent sent just before, or is its own."""
    for q in trace.requests(p.msg.method):
        if q.src == far_ip and q.dst in (spec.dut_in_ip, spec.dut_out_ip) and 0 <= p.time - q.time <= RELAY_WINDOW:
            return f"relayed from the far side's {q.msg.method} (frame {q.frame})"
    return "originated by the DUT"


def _timer_answer(ok: SipPacket, request: SipPacket, asked: str | None, who: str) -> tuple[list[Finding], tuple]:
    """RFC4028-03 on a 2xx to an INVITE with Supported: timer and Session-Expires: the 2xx carries Session-Expires
    with refresher=uac|uas, at or above Min-SE 90, and copies the refresher the request named (RFC 4028 section 9).
    ``who`` names the 2xx's sender in the messages. Returns the findings and (interval, refresher)."""
    se = session_expires(ok)
    want = (f"Session-Expires with refresher=uac|uas in {who}'s {ok.msg.status} to the INVITE with Supported: timer "
            f"and {_se_text(request)} (frame {request.frame})")
    if se is None or se[0] is None or se[1] not in ("uac", "uas"):
        seen = _se_text(ok) if se is not None else "no Session-Expires (the session timer was dropped)"
        return [violation("RFC4028-03", ["RFC4028-03", "CFG-05"], "M", want, seen, ok.frame)], (None, None)
    out = [passed("RFC4028-03", ["RFC4028-03", "CFG-05"], "M", f"{who}'s {ok.msg.status}: {_se_text(ok)}", ok.frame)]
    if asked and se[1] != asked:
        out.append(violation("RFC4028-03", "RFC4028-03", "M", f"refresher={asked} as the request asked (frame "
                             f"{request.frame}; RFC 4028 section 9: the UAS copies it)", f"refresher={se[1]}",
                             ok.frame))
    if se[0] < 90:
        out.append(violation("RFC4028-01", "RFC4028-01", "M", "a session interval of at least 90 s",
                             _se_text(ok), ok.frame))
    return out, se


def _refresh_judged(trace: Trace, leg: Leg, ok: SipPacket, interval: int, dut_ip: str, spec: CallSpec,
                    far_ip: str) -> list[Finding]:
    """RFC4028-04, the DUT as refresher of this leg: its first in-dialog request after the 2xx ``ok`` is a refresh
    (re-INVITE or UPDATE, carrying Session-Expires) within interval/2 + 10 s."""
    due = interval / 2 + REFRESH_SLACK
    want = (f"a session refresh (re-INVITE or UPDATE) from the DUT within {interval}/2 + {REFRESH_SLACK:.0f} s of "
            f"the {ok.msg.status} naming it refresher (frame {ok.frame})")
    nxt = _in_dialog(leg, dut_ip, ok.time)
    if not nxt:
        end = max(p.time for p in trace.sip) if trace.sip else ok.time
        if end < ok.time + due:
            raise_missing(f"the call lasting until the refresh was due (+{due:.0f} s; the capture ends at "
                          f"+{end - ok.time:.0f} s)")
        return [violation("RFC4028-04", ["RFC4028-04", "CFG-05"], "M", want, f"none; the capture runs on to "
                          f"+{end - ok.time:.0f} s", ok.frame)]
    first = nxt[0]
    at = first.time - ok.time
    if first.msg.method == "BYE" or at > due:
        return [violation("RFC4028-04", ["RFC4028-04", "CFG-05"], "M", want, f"first {first.msg.method} at "
                          f"+{at:.1f} s", first.frame)]
    out = [passed("RFC4028-04", ["RFC4028-04", "CFG-05"], "M", f"{first.msg.method} refresh at +{at:.1f} s (half "
                  f"the interval: {interval / 2:g} s), {_origin(trace, first, spec, far_ip)}", first.frame)]
    se = session_expires(first)
    want = "Session-Expires in the DUT's refresh (RFC 4028 section 7.4/8)"
    out.append(passed("RFC4028-05", "RFC4028-04", "R", f"{_se_text(first)} in the refresh", first.frame)
               if se is not None else violation("RFC4028-05", "RFC4028-04", "R", want, "none", first.frame))
    return out


@check
def session_refreshed_by_dut(trace: Trace, *, spec: CallSpec, asked: str = "uas") -> list[Finding]:
    """TC-ST-02 (RFC4028-03/04): our Mediation-side INVITE (the call's caller) asks a session timer with
    refresher=``asked``; the DUT's 2xx carries Session-Expires with that refresher; as refresher (uas) the DUT
    refreshes our leg within half the interval + 10 s; the call stays up until our BYE, which is relayed."""
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours, a, theirs, b, ok, out = got
    found, (interval, refresher) = _timer_answer(ok, ours, asked, "the DUT")
    out.extend(found)
    if interval is None:
        return out
    if refresher != "uas":   # we are to refresh: what the DUT does then is TC-ST-04's point, not judged here
        return out
    out.extend(_refresh_judged(trace, a, ok, interval, spec.dut_in_ip, spec, spec.callee_ip))
    if any(not f.ok for f in out):
        return out
    out.extend(_early_release(a, b, spec, "caller"))
    out.extend(_cleared(a, b, spec, "caller", out))
    return out


@check
def session_expiry_bye(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-ST-04 (RFC4028-04): our Mediation-side INVITE asks a session timer with refresher=uac and we never
    refresh. The DUT's 2xx names refresher=uac; with no refresh from us the DUT ends the call with a BYE to us
    after the refresh was due (half the interval) and no later than the session's expiry (RFC 4028 section 10
    recommends expiry - min(32, interval/3); recorded), and releases the far leg as well."""
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours, a, theirs, b, ok, out = got
    found, (interval, refresher) = _timer_answer(ok, ours, "uac", "the DUT")
    out.extend(found)
    if interval is None or refresher != "uac":
        return out
    if _in_dialog(a, spec.caller_ip, ok.time, REFRESH):
        raise_missing("our withheld refresh (our caller refreshed after all)")
    expiry, recommended = interval, interval - min(32, interval / 3)
    want = (f"a BYE from the DUT after our refresh was due (+{interval / 2:g} s) and before the session expires "
            f"(+{expiry} s; RFC 4028 section 10 recommends +{recommended:g} s) after its {ok.msg.status} (frame "
            f"{ok.frame})")
    nxt = _in_dialog(a, spec.dut_in_ip, ok.time)
    if not nxt:
        end = max(p.time for p in trace.sip) - ok.time
        if end < expiry + EXPIRY_SLACK:
            raise_missing(f"the call lasting until the session expired (+{expiry} s; the capture ends at +{end:.0f} s)")
        out.append(violation("RFC4028-04", "RFC4028-04", "M", want, f"none; the capture runs on to +{end:.0f} s",
                             ok.frame))
        return out
    first, at = nxt[0], nxt[0].time - ok.time
    if first.msg.method in REFRESH:
        out.append(passed("RFC4028-04", "RFC4028-04", "I", f"the DUT refreshed the session itself ({first.msg.method}"
                          f" at +{at:.1f} s) although it named us refresher: the call is kept up, its expiry BYE is "
                          "not shown", first.frame))
        return out
    if at < interval / 2:
        out.append(violation("CALL-UP", ["RFC4028-04", "RFC3261-14"], "M", want, f"BYE at +{at:.1f} s, before our "
                             f"refresh was even due", first.frame))
        return out
    if at > expiry + EXPIRY_SLACK:
        out.append(violation("RFC4028-04", "RFC4028-04", "M", want, f"BYE at +{at:.1f} s, after the session "
                             "expired", first.frame))
        return out
    out.append(passed("RFC4028-04", "RFC4028-04", "M", f"BYE at +{at:.1f} s, {expiry - at:.1f} s before the "
                      f"session expired (recommended: {expiry - recommended:g} s before)", first.frame))
    far = [p for p in b.requests("BYE") if p.src == spec.dut_out_ip and p.time >= first.time - RELAY_WINDOW]
    want = f"the DUT releasing the far leg (BYE to {spec.callee_ip}) when it ended the call (frame {first.frame})"
    out.append(passed("CALL-RELEASE", "RFC3261-14", "R", f"{want}: BYE", far[0].frame) if far else
               violation("CALL-RELEASE", "RFC3261-14", "R", want, "no BYE on the far leg", first.frame))
    return out


@check
def session_timer_honoured(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-ST-01 (CFG-05, RFC4028-*), EnableSessionTimer=False on the Mediation side: on an IN call the DUT may ask a
    session timer in its INVITE; our callee honours it (copies it, naming the DUT refresher when it named nobody).
    With a timer, the DUT as refresher refreshes our leg within half the interval + 10 s and the call stays up
    across the refresh until our BYE, which the DUT relays. Without one, the call is only required to complete."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    ok = b.final(src=spec.callee_ip)
    if ok is None or ok.msg.status != 200:
        raise_missing(f"our 200 OK from {spec.callee_ip}")
    asked = session_expires(theirs)
    if asked is None:
        out.append(passed("CFG-05", ["CFG-05", "RFC4028-05"], "I", "the DUT asked no session timer of the Mediation "
                          "side (no Session-Expires in its INVITE)", theirs.frame))
        out.extend(_early_release(a, b, spec, "callee"))
        out.extend(_cleared(a, b, spec, "callee", out))
        return out
    if asked[1] == "uas":
        raise_missing("a refresh from our Mediation callee (the DUT named it refresher, refresher=uas; sipqual's "
                      "callee honours timers the DUT refreshes only)")
    mine = session_expires(ok)
    if mine is None or mine[1] != "uac":
        raise_missing(f"our callee's 200 honouring the DUT's {_se_text(theirs)} with refresher=uac")
    out.append(passed("CFG-05", ["CFG-05", "RFC4028-01"], "M", f"the DUT asked a session timer ({_se_text(theirs)}); "
                      f"our callee answered {_se_text(ok)}", [theirs.frame, ok.frame]))
    out.extend(_refresh_judged(trace, b, ok, mine[0], spec.dut_out_ip, spec, spec.caller_ip))
    if any(not f.ok for f in out):
        return out
    out.extend(_early_release(a, b, spec, "callee"))
    out.extend(_cleared(a, b, spec, "callee", out))
    return out


def _min_se(p: SipPacket) -> int | None:
    v = (p.msg.get("Min-SE") or "").split(";")[0].strip()
    return int(v) if v.isdigit() else None


@check
def session_too_small_retried(trace: Trace, *, spec: CallSpec, min_se: int) -> list[Finding]:
    """TC-ST-03 (RFC4028-02): an IN call whose DUT INVITE our Mediation callee answers 422 with Min-SE ``min_se``.
    The DUT ACKs the 422, then either relays it to the caller with a Min-SE at least ``min_se`` (a proxy; the
    caller's retry is our far agent's, recorded, never credited: the DUT is judged only for carrying it on without
    lowering its interval) or retries itself with Session-Expires and Min-SE at least ``min_se`` (RFC 4028 section
    7.1). Which of the two it did is recorded. The retried call then completes and our BYE is relayed."""
    from .common import dut_invite_toward, leg_of

    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    rejected = next((p for p in b.responses() if p.src == spec.callee_ip and p.msg.status == 422), None)
    if rejected is None:
        raise_missing(f"our 422 from {spec.callee_ip}")
    seq = rejected.msg.cseq.seq if rejected.msg.cseq else None
    acks = [p for p in b.requests("ACK") if p.src == spec.dut_out_ip and p.time >= rejected.time
            and p.msg.cseq and p.msg.cseq.seq == seq]
    out.append(passed("ACK-FINAL", "RFC3261-03", "M", "the DUT ACKed our 422", acks[0].frame) if acks else
               violation("ACK-FINAL", "RFC3261-03", "M", f"an ACK from the DUT for our 422 (frame {rejected.frame})",
                         "none", rejected.frame))
    relayed = next((p for p in a.responses() if p.src == spec.dut_in_ip and p.msg.status == 422
                    and p.time >= rejected.time), None)
    retry = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, rejected.time)
    if relayed is not None and (retry is None or relayed.time <= retry.time):
        got = _min_se(relayed)
        want = f"the 422 relayed to the caller with Min-SE at least {min_se} (ours, frame {rejected.frame})"
        out.append(passed("RFC4028-02", "RFC4028-02", "M", f"{want}: the DUT relayed it with Min-SE: {got} (a "
                          "proxy's way; the retry is then the caller's)", relayed.frame) if got and got >= min_se
                   else violation("RFC4028-02", "RFC4028-02", "M", want, f"Min-SE: {relayed.msg.get('Min-SE')}",
                                  relayed.frame))
        far_retry = next((p for p in a.requests("INVITE") if p.src == spec.caller_ip and p.time > relayed.time), None)
        if far_retry is None:
            raise_missing("our far caller's retry after the 422")
        retry = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, far_retry.time)
        if retry is None:
            out.append(violation("CALL-ROUTE", "TRN-01", "M", f"the DUT sending our caller's retry (frame "
                                 f"{far_retry.frame}) on to {spec.callee_ip}", "no INVITE", far_retry.frame))
            return out
        se = session_expires(retry)
        want = f"the caller's retry (frame {far_retry.frame}, {_se_text(far_retry)}) carried on with its interval"
        asked = session_expires(far_retry)
        if se is None or se[0] is None or (asked and asked[0] and se[0] < asked[0]):
            out.append(violation("RFC4028-02", "RFC4028-02", "M", want, _se_text(retry) if se else
                                 "no Session-Expires", retry.frame))
        else:
            out.append(passed("RFC4028-02", "RFC4028-02", "I", f"{want}: {_se_text(retry)} (our far agent's retry, "
                              "relayed)", retry.frame))
        a2 = leg_of(trace, far_retry)
    elif retry is not None:
        se, got = session_expires(retry), _min_se(retry)
        want = (f"the DUT's own retry after our 422 (frame {rejected.frame}) with Session-Expires and Min-SE at "
                f"least {min_se} (RFC 4028 section 7.1)")
        if se is None or se[0] is None or se[0] < min_se or got is None or got < min_se:
            seen = _se_text(retry) if se else "no Session-Expires"
            out.append(violation("RFC4028-02", "RFC4028-02", "M", want, f"{seen}, Min-SE: {retry.msg.get('Min-SE')}",
                                 retry.frame))
            return out
        out.append(passed("RFC4028-02", "RFC4028-02", "M", f"{want}: {_se_text(retry)}, Min-SE: {got} (the DUT "
                          "retried itself)", retry.frame))
        a2 = a
    else:
        final = a.final(src=spec.dut_in_ip)
        out.append(violation("RFC4028-02", "RFC4028-02", "M", f"the 422 (frame {rejected.frame}) relayed to the "
                             f"caller with Min-SE, or the DUT's own retry with Session-Expires at least {min_se}",
                             status_text(final), final.frame if final else rejected.frame))
        return out
    b2 = leg_of(trace, retry)
    ok = b2.final(src=spec.callee_ip)
    if ok is None or ok.msg.status != 200:
        raise_missing(f"our 200 OK to the retry from {spec.callee_ip}")
    out.extend(_cleared(a2, b2, spec, "callee", out))
    return out
