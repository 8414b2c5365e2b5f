"""Checks of suite FO, the far side's failures (TC-FO-02..06; TC-FO-01 is :func:`sipqual.checks.bas.call_rejected`
with a 503 and cause 34): what the DUT tells the Mediation side when its PSTN side cannot take a call, and that a
call the Mediation side gives up on leaves nothing held."""

from __future__ import annotations

from dataclasses import replace

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .bas import q850_causes
from .common import (MARKER, CallSpec, answered_call, dut_invite_toward, leg_of, raise_missing, route, route_held,
                     status_text)

#: how soon a DUT at its channel limit must refuse one more call (CAP-01 "promptly"): well inside Lync's 10 s
#: fast-failover window, so Lync tries the next gateway at once; generous for a loaded test machine
PROMPT_S = 2.0


def _ours(trace: Trace, test_id: str, src: str) -> list[SipPacket]:
    """Every INVITE of ours with this marker, first transmissions only (a retransmission has a Call-ID seen)."""
    seen, out = set(), []
    for p in trace.requests("INVITE"):
        if p.src == src and p.msg.get(MARKER) == test_id and p.msg.call_id not in seen:
            seen.add(p.msg.call_id)
            out.append(p)
    return out


def _after(final: SipPacket, ours: SipPacket) -> str:
    return f"{status_text(final)} after {1000 * (final.time - ours.time):.0f} ms"


@check
def trunk_down_rejected(trace: Trace, *, spec: CallSpec, down_id: str, up_id: str) -> list[Finding]:
    """TC-FO-02 (FO-02): the far side is out of service (nothing answers there). The DUT answers our INVITE with
    503, which makes Lync try another gateway; never 502 (Microsoft: failover "doesn't function" with the 502 an
    Alcatel OXE sent for a T1 out of service), 408, 500 or 504, and never silence. Recorded: how long it took, whether
    the DUT tried the far side first, the Q.850 cause and Retry-After it gave. Then the far side is back: a call
    (marker ``up_id``) is answered again (FO-02, R: a DUT that keeps the trunk out of service after its far side
    returned refuses every call)."""
    down = replace(spec, test_id=down_id)
    ours = next(iter(_ours(trace, down_id, spec.caller_ip)), None)
    if ours is None:
        raise_missing("our INVITE while the far side is down")
    a = leg_of(trace, ours)
    tried = [p for p in trace.requests("INVITE") if p.src == spec.dut_out_ip and p.dst == spec.callee_ip
             and ours.time <= p.time]
    answered = [p for p in trace.sip if p.src == spec.callee_ip and p.time >= ours.time and not p.msg.is_request]
    up = next(iter(_ours(trace, up_id, spec.caller_ip)), None)
    answered = [p for p in answered if up is None or p.time < up.time]
    if answered:
        raise_missing(f"a far side out of service (our far end answered at frame {answered[0].frame})")
    final = a.final(src=spec.dut_in_ip)
    out: list[Finding] = []
    how = (f"the DUT tried the far side ({len([p for p in tried if up is None or p.time < up.time])} INVITE "
           f"transmission(s), none answered)" if tried and (up is None or tried[0].time < up.time)
           else "the DUT did not try the far side")
    want = f"503 to our INVITE (frame {ours.frame}) while the far side is out of service, so Lync retries elsewhere"
    if final is None:
        out.append(violation("FO-02", "FO-02", "M", want, f"no final response ({how})", ours.frame))
    elif final.msg.status != 503:
        note = " (Lync does not fail over on 502)" if final.msg.status == 502 else ""
        out.append(violation("FO-02", "FO-02", "M", want, f"{_after(final, ours)}{note}; {how}", final.frame))
    else:
        causes = q850_causes(final)
        extra = [f"Reason Q.850 cause {', '.join(map(str, causes))}" if causes else "no Q.850 Reason"]
        if final.msg.has("Retry-After"):
            extra.append(f"Retry-After {final.msg.get('Retry-After')}")
        out.append(passed("FO-02", "FO-02", "M", f"{_after(final, ours)} while the far side was out of service; "
                          f"{how}; {', '.join(extra)}", final.frame))
    if up is None:
        if final is not None and final.msg.status == 503:
            raise_missing("our call once the far side was back")
        return out
    got = answered_call(trace, replace(down, test_id=up_id))
    if isinstance(got, list):
        bad = [f for f in got if not f.ok]
        out.append(violation("FO-02", "FO-02", "R", f"the call placed once the far side was back (frame {up.frame}) "
                             f"answered 200", bad[0].message if bad else "not answered", up.frame))
    else:
        out.append(passed("FO-02", "FO-02", "R", "the far side back: a new call was answered", got[4].frame))
    return out


@check
def capacity_overflow(trace: Trace, *, spec: CallSpec, limit: int, overflow_id: str,
                      prompt_s: float = PROMPT_S) -> list[Finding]:
    """TC-FO-03 (CAP-01, FO-01): with ``limit`` calls of ours up (the capacity the DUT declares), one more call
    (marker ``overflow_id``) gets 503 from the DUT within ``prompt_s``, so Lync tries another gateway at once: not
    486 or 480 (a user reason: Lync gives up), not 500 or 502 (no failover either), not a call sent on. A held
    call the DUT refused below its declared capacity is a fault too (it is not the capacity it claims)."""
    held = _ours(trace, spec.test_id, spec.caller_ip)
    extra = next(iter(_ours(trace, overflow_id, spec.caller_ip)), None)
    if extra is None:
        raise_missing("our call beyond the DUT's capacity")
    if len(held) < limit:
        raise_missing(f"{limit} calls of ours to fill the DUT ({len(held)} sent)")
    out: list[Finding] = []
    up = 0
    for ours in held:
        a = leg_of(trace, ours)
        final = a.final(src=spec.dut_in_ip)
        if final is None or final.time > extra.time:
            raise_missing(f"the answer to our call {ours.msg.call_id} before the extra call (the DUT was not yet "
                          "full when it came)")
        if final.msg.status != 200:
            out.append(violation("CAP-01", ["CAP-01"], "M", f"each of {limit} calls (the declared capacity) "
                                 f"answered", f"{status_text(final)} to the call of frame {ours.frame}",
                                 final.frame))
            continue
        ended = [p for p in a.messages if p.msg.is_request and p.msg.method in ("BYE", "CANCEL")
                 and p.time < extra.time]
        if ended:
            raise_missing(f"our call of frame {ours.frame} held while the extra call came (it ended at frame "
                          f"{ended[0].frame})")
        up += 1
    if out:
        return out
    out.append(passed("CAP-01", ["CAP-01"], "M", f"{up} calls up (the declared capacity of {limit})",
                      [p.frame for p in held]))
    a = leg_of(trace, extra)
    final = a.final(src=spec.dut_in_ip)
    sent_on = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, extra.time)
    want = f"503 within {prompt_s:g} s to the call beyond capacity (frame {extra.frame})"
    on = f"; the DUT sent it on to the far end (frame {sent_on.frame})" if sent_on else ""
    if final is None:
        out.append(violation("CAP-01", ["CAP-01", "FO-01"], "M", want, f"no final response{on}", extra.frame))
    elif final.msg.status != 503:
        out.append(violation("CAP-01", ["CAP-01", "FO-01"], "M", want, f"{_after(final, extra)}{on}", final.frame))
    elif final.time - extra.time > prompt_s:
        out.append(violation("CAP-01", ["CAP-01", "FO-01"], "M", want, f"{_after(final, extra)}{on}", final.frame))
    else:
        notes = [f"Retry-After {final.msg.get('Retry-After')}"] if final.msg.has("Retry-After") else []
        causes = q850_causes(final)
        notes.append(f"Reason Q.850 cause {', '.join(map(str, causes))}" if causes else "no Q.850 Reason")
        out.append(passed("CAP-01", ["CAP-01", "FO-01"], "M", f"{_after(final, extra)} to the call beyond capacity"
                          f"{on}; {', '.join(notes)}", final.frame))
    return out


#: what FO-01 demands of a cause (requirements.md FO-01: 34/38/41/42 -> 503, 17 -> 486, 1 -> 404); every other row of
#: TC-FO-04's table is recorded only (RFC 3398's mapping is advice, and FO-04 says Lync's rerouting per code is
#: configurable)
MANDATED = {1: 404, 17: 486, 34: 503, 38: 503, 41: 503, 42: 503}


@check
def cause_mapping(trace: Trace, *, spec: CallSpec, table: list) -> list[Finding]:
    """TC-FO-04 (FO-01, RFC3326-02, FO-03): our far end rejects one call per row of ``table`` ([cause, status]
    pairs, in order) with that status and Reason Q.850;cause. The table of what the DUT sent the Mediation side for
    each is the finding (one informative line per row). Judged: the causes FO-01 names (:data:`MANDATED`: resource
    causes to 503, busy to 486, unallocated to 404), and the Reason (FO-03, R: Lync's translation rules match the
    SIP code and the ISUP cause): present, with the far end's cause."""
    calls = _ours(trace, spec.test_id, spec.caller_ip)
    if len(calls) < len(table):
        raise_missing(f"our {len(table)} calls ({len(calls)} sent)")
    out: list[Finding] = []
    for n, ((cause, status), ours) in enumerate(zip(table, calls)):
        until = calls[n + 1].time if n + 1 < len(calls) else float("inf")
        theirs = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, ours.time)
        a = leg_of(trace, ours)
        final = a.final(src=spec.dut_in_ip)
        row = f"cause {cause} ({status} from the far end)"
        if theirs is None or theirs.time >= until:
            out.append(violation("CALL-ROUTE", ["TRN-01"], "M", f"the call of frame {ours.frame} sent on to the far "
                                 f"end", status_text(final), final.frame if final else ours.frame))
            continue
        b = leg_of(trace, theirs)
        rejection = b.final(src=spec.callee_ip)
        if rejection is None or rejection.msg.status != status or cause not in q850_causes(rejection):
            raise_missing(f"our {status} with cause {cause} on the far leg of frame {theirs.frame}")
        if final is None:
            out.append(violation("FO-01", ["FO-01", "RFC3326-02"], "R", f"a final response for {row}",
                                 "none", rejection.frame))
            continue
        causes = q850_causes(final)
        got = f"{final.msg.status}" + (f" cause {','.join(map(str, causes))}" if causes else " (no Q.850 Reason)")
        out.append(passed("FO-04", ["FO-04", "RFC3326-02"], "I", f"{row} -> {got}", final.frame))
        want = MANDATED.get(cause)
        if want is not None and final.msg.status != want:
            out.append(violation("FO-01", ["FO-01", "RFC3326-02"], "R", f"{want} for {row}"
                                 + (" (a resource cause: Lync retries another gateway only on 503)" if want == 503
                                    else " (a user cause: 503 would make Lync retry another gateway)"),
                                 status_text(final), final.frame))
        if not causes:
            out.append(violation("FO-03", "FO-03", "R", f"Reason: Q.850;cause={cause} on the DUT's "
                                 f"{final.msg.status} for {row}", "none", final.frame))
        elif cause not in causes:
            out.append(violation("FO-03", "FO-03", "R", f"Reason: Q.850;cause={cause} (the far end's) on the DUT's "
                                 f"{final.msg.status}", f"cause {', '.join(map(str, causes))}", final.frame))
    return out


@check
def channel_freed(trace: Trace, *, spec: CallSpec, after_id: str) -> list[Finding]:
    """TC-FO-06 (FO-05): after the cancelled call (judged by :func:`sipqual.checks.bas.call_cancelled`), a new call
    (marker ``after_id``) through the DUT is answered: the channel the cancelled call held is free again."""
    ours = next(iter(_ours(trace, after_id, spec.caller_ip)), None)
    if ours is None:
        raise_missing("our call after the cancelled one")
    got = answered_call(trace, replace(spec, test_id=after_id))
    if isinstance(got, list):
        bad = [f for f in got if not f.ok]
        return [violation("FO-05", "FO-05", "M", f"the call placed after the cancelled one (frame {ours.frame}) "
                          f"routed and answered", bad[0].message if bad else "not answered", ours.frame)]
    ok = got[4]
    return [passed("FO-05", "FO-05", "M", f"a new call after the cancelled one was answered "
                   f"({1000 * (ok.time - ours.time):.0f} ms after its INVITE)", ok.frame)]


@check
def progress_despite_slow_alerting(trace: Trace, *, spec: CallSpec, progress_s: float = 10.0) -> list[Finding]:
    """TC-FO-05 (SIG-02): the far end takes 15 s to alert; the DUT still gives the Mediation side call progress (an
    18x) within ``progress_s`` of our INVITE, or Lync's fast-failover timer cancels the call at 10 s and tries another
    gateway. Our caller cancels like that timer (200 ms after the 18x, or at 10 s without one); recorded: which 18x
    the DUT sent and that the far end had not alerted yet."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, _theirs, b = routed
    out = [route_held(_theirs, spec)]
    far_ring = next((p for p in b.responses() if p.src == spec.callee_ip and 180 <= (p.msg.status or 0) < 200), None)
    progress = next((p for p in a.responses() if p.src == spec.dut_in_ip and 180 <= (p.msg.status or 0) < 200), None)
    want = f"an 18x to the caller within {progress_s:g} s of our INVITE (frame {ours.frame}), the far end being slow"
    if progress is not None:
        at = progress.time - ours.time
        own = ("before the far end alerted (the DUT's own)" if far_ring is None or far_ring.time > progress.time
               else f"after the far end's {far_ring.msg.status} (frame {far_ring.frame})")
        if at <= progress_s:
            out.append(passed("SIG-02", "SIG-02", "R", f"{status_text(progress)} after {1000 * at:.0f} ms, {own}",
                              progress.frame))
        else:
            out.append(violation("SIG-02", "SIG-02", "R", want, f"{status_text(progress)} after {at:.1f} s, {own}",
                                 progress.frame))
        return out
    cancel = next((p for p in a.requests("CANCEL") if p.src == spec.caller_ip), None)
    if cancel is None or cancel.time - ours.time < 0.95 * progress_s:
        raise_missing(f"our CANCEL {progress_s:g} s after the INVITE (Lync's fast-failover timer)")
    out.append(violation("SIG-02", "SIG-02", "R", want, f"none: the fast-failover timer cancelled the call after "
                         f"{cancel.time - ours.time:.1f} s (frame {cancel.frame})", cancel.frame))
    return out
