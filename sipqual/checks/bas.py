"""Checks of suite BAS: calls that end before they are answered (rejected, cancelled). Answered basic calls are
judged by :func:`sipqual.checks.calls.basic_call`."""

from __future__ import annotations

import re

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared, _media  # the basic call's media and clearing checks, shared with TC-BAS-15
from .common import CallSpec, Leg, raise_missing, route, route_held, sdp_of, status_text, stop_unless_explained

#: the severity the catalogue gives each requirement a rejection check reports under (requirements.md section 2)
_SEVERITY = {"FO-01": "M", "FO-03": "R", "NUM-01": "M"}
_Q850 = re.compile(r"(?i)\bQ\.850\s*;(?:[^,]*;)?\s*cause\s*=\s*(\d+)")


def q850_causes(p: SipPacket) -> list[int]:
    """The Q.850 causes in the Reason header(s) of a message (RFC 3326), in order."""
    return [int(m.group(1)) for v in p.msg.values("Reason") for m in _Q850.finditer(v)]


def _allowed(code: int | None, accept: list) -> bool:
    """``accept`` lists exact codes (404) and classes ("4xx")."""
    return code is not None and (code in accept or str(code) in map(str, accept) or f"{code // 100}xx" in accept)


@check
def call_rejected(trace: Trace, *, spec: CallSpec, status: int, accept: list | None = None, cause: int | None = None,
                  reason_required: bool = False, rule: str = "FO-01") -> list[Finding]:
    """The callee (our agent) rejects the call with ``status``; the DUT passes a final response the caller may get
    for it, completes the callee's transaction and carries the cause on.

    - ``accept``: the final statuses the DUT may send the caller, exact codes or classes ("4xx"); default only
      ``status`` itself (TC-BAS-07/08, FO-01: a 486 or 404 turned into 503 makes Lync retry another gateway).
      Reported under ``rule`` (FO-01; FO-03 for a call Lync declines, NUM-01 for a number Lync does not know).
    - ``cause``: the Q.850 cause our callee sent; a Reason: Q.850 on the DUT's response must carry it.
      ``reason_required``: a response without a Q.850 Reason is a finding (FO-03, R: Lync's
      SipResponseCodeTranslationRules match the SIP code and the ISUP cause).
    - The DUT ACKs our rejection (RFC 3261 17.1.1.3: a proxy's or a B2BUA's INVITE client transaction does, hop by
      hop); without that ACK our callee retransmits its final response and the case could not finish."""
    accept = list(accept) if accept else [status]
    sev = _SEVERITY.get(rule, "M")
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    rejection = b.final(src=spec.callee_ip)
    if rejection is None or rejection.msg.status != status:
        raise_missing(f"our {status} from {spec.callee_ip}")
    out = [route_held(theirs, spec)]
    acks = [p for p in b.requests("ACK") if p.src == spec.dut_out_ip and p.time >= rejection.time]
    sent = sum(1 for p in b.responses() if p.src == spec.callee_ip and p.msg.status == status)
    out.append(passed("ACK-FINAL", "RFC3261-03", "M", f"the DUT ACKed our {status}", acks[0].frame) if acks else
               violation("ACK-FINAL", "RFC3261-03", "M", f"an ACK from the DUT for our {status} (frame "
                         f"{rejection.frame}, RFC 3261 17.1.1.3)", f"none ({sent} transmission(s) of that {status})",
                         rejection.frame))
    final = a.final(src=spec.dut_in_ip)
    allowed = " or ".join(map(str, accept))
    want = f"{allowed} to the caller after the callee's {status} (frame {rejection.frame})"
    if final is None or not _allowed(final.msg.status, accept):
        out.append(violation(rule, rule, sev, want, status_text(final), final.frame if final else None))
        return out
    out.append(passed(rule, rule, sev, f"{want}: {status_text(final)} after "
                      f"{1000 * (final.time - rejection.time):.0f} ms", final.frame))
    causes = q850_causes(final)
    if cause is not None and causes and cause not in causes:
        out.append(violation("FO-03", "FO-03", "R", f"Reason: Q.850;cause={cause} (the callee's cause, frame "
                             f"{rejection.frame}) on the DUT's {final.msg.status}",
                             f"cause {', '.join(map(str, causes))}", final.frame))
    elif reason_required and not causes:
        out.append(violation("FO-03", "FO-03", "R", f"a Reason: Q.850;cause= header on the DUT's "
                             f"{final.msg.status} (the callee sent cause {cause}, frame {rejection.frame})",
                             "none" + (f" (Reason: {final.msg.get('Reason')})" if final.msg.has("Reason") else ""),
                             final.frame))
    elif causes:
        out.append(passed("FO-03", "FO-03", "R", f"Reason: Q.850;cause={causes[0]} on the DUT's "
                          f"{final.msg.status}", final.frame))
    return out


@check
def call_cancelled(trace: Trace, *, spec: CallSpec, release_req: str = "FO-05") -> list[Finding]:
    """TC-BAS-05 (RFC3261-09, FO-05), TC-BAS-06 (RFC3261-09): the caller cancels while the callee rings. The DUT
    answers the CANCEL with 200 and the INVITE with 487, never connects the call, and releases the callee's leg (a
    CANCEL on the INVITE's branch, or a BYE if that leg was answered meanwhile) after our CANCEL, and ACKs the
    callee's 487 (see :func:`_callee_leg_released`). ``release_req`` is the requirement the release is judged under:
    FO-05 (the PSTN channel released) for an OUT call, RFC3261-09 (the DUT cancels toward the Mediation side) IN."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    cancels = [p for p in a.requests("CANCEL") if p.src == spec.caller_ip]
    if not cancels:  # our caller cancels once the ringing reached it: did the DUT pass the callee's 18x on?
        ringing = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status and 180 <= p.msg.status < 200]
        relayed = [p for p in a.responses() if p.src == spec.dut_in_ip and p.msg.status and 180 <= p.msg.status < 200]
        if ringing and not relayed:
            return [route_held(theirs, spec), violation(
                "SIG-02", ["SIG-02", "FO-05"], "R", f"the callee's {ringing[0].msg.status} (frame {ringing[0].frame}) "
                f"passed on to the caller as call progress", "no 18x from the DUT to the caller", ringing[0].frame)]
        raise_missing(f"our CANCEL from {spec.caller_ip}")
    cancel = cancels[0]
    out = [route_held(theirs, spec)]
    ok = [p for p in a.responses("CANCEL") if p.src == spec.dut_in_ip and p.msg.status == 200]
    want = f"200 OK to our CANCEL (frame {cancel.frame})"
    out.append(passed("RFC3261-09", "RFC3261-09", "M", want, ok[0].frame) if ok else violation(
        "RFC3261-09", "RFC3261-09", "M", want, ", ".join(f"{p.msg.status} (frame {p.frame})" for p in
                                                          a.responses("CANCEL") if p.src == spec.dut_in_ip)
        or "no response"))
    final = a.final(src=spec.dut_in_ip)
    want = f"487 to the cancelled INVITE after our CANCEL (frame {cancel.frame})"
    out.append(passed("RFC3261-09", "RFC3261-09", "M", want, final.frame) if final and final.msg.status == 487
               else violation("RFC3261-09", "RFC3261-09", "M", want, status_text(final), final.frame if final else None))
    out.extend(_callee_leg_released(b, spec, cancel, release_req))
    return out


def _callee_leg_released(b: Leg, spec: CallSpec, cancel: SipPacket, req: str) -> list[Finding]:
    """After our CANCEL (frame of ``cancel``) the DUT releases the callee's leg: a CANCEL (or a BYE if that leg was
    answered meanwhile). Its CANCEL belongs to its INVITE's transaction (RFC 3261 9.1: same top Via branch, Call-ID,
    CSeq number; the passive RFC3261-09 and -03 rules judge every field), and the callee's 487 then gets the DUT's
    ACK on that branch (17.1.1.3): without it the callee retransmits the 487 and keeps the transaction open."""
    released = [p for p in b.requests("CANCEL") + b.requests("BYE") if p.src == spec.dut_out_ip
                and p.time >= cancel.time]
    want = f"the DUT releasing the callee's leg (CANCEL to {spec.callee_ip}) after our CANCEL (frame {cancel.frame})"
    if not released:
        return [violation(req, req, "M", want, "no CANCEL or BYE on the callee's leg")]
    first = released[0]
    out = [passed(req, req, "M", f"{want}: {first.msg.method} after {1000 * (first.time - cancel.time):.0f} ms",
                  first.frame)]
    if first.msg.method != "CANCEL":
        return out
    inv = b.invite.msg
    branch = inv.vias[0].branch if inv.vias else None
    same = (first.msg.vias[0].branch if first.msg.vias else None, first.msg.call_id,
            first.msg.cseq.seq if first.msg.cseq else None)
    want = (f"the DUT's CANCEL in its INVITE's transaction (frame {b.invite.frame}: branch {branch}, Call-ID, CSeq "
            f"{inv.cseq.seq if inv.cseq else '?'})")
    if same != (branch, inv.call_id, inv.cseq.seq if inv.cseq else None):
        out.append(violation("RFC3261-09", ["RFC3261-09", "RFC3261-03"], "M", want,
                             f"branch {same[0]}, Call-ID {same[1]}, CSeq {same[2]}", first.frame))
    else:
        out.append(passed("RFC3261-09", ["RFC3261-09", "RFC3261-03"], "M", want, first.frame))
    rejected = b.final(src=spec.callee_ip)
    if rejected is None or not 300 <= (rejected.msg.status or 0) < 700:
        return out          # our callee did not end the INVITE with a failure: no ACK to look for
    acks = [p for p in b.requests("ACK") if p.src == spec.dut_out_ip and p.time >= rejected.time]
    want = f"an ACK from the DUT for the callee's {rejected.msg.status} (frame {rejected.frame}) on the INVITE's branch"
    on_branch = [p for p in acks if p.msg.vias and p.msg.vias[0].branch == branch]
    if on_branch:
        out.append(passed("RFC3261-03", ["RFC3261-03", "RFC3261-09"], "M", want, on_branch[0].frame))
    else:
        resent = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status == rejected.msg.status]
        seen = (f"an ACK on branch {acks[0].msg.vias[0].branch if acks[0].msg.vias else None} (frame {acks[0].frame})"
                if acks else f"none ({len(resent)} transmission(s) of that {rejected.msg.status})")
        out.append(violation("RFC3261-03", ["RFC3261-03", "RFC3261-09"], "M", want, seen,
                             acks[0].frame if acks else rejected.frame))
    return out


@check
def call_progress(trace: Trace, *, spec: CallSpec, trying_ms: int = 200, progress_s: float = 10.0) -> list[Finding]:
    """TC-BAS-12: on the caller's leg the DUT answers our INVITE with 100 Trying (or any response) within
    ``trying_ms`` (SIG-01, RFC 3261 17.2.1: a server transaction sends 100 unless the TU answers within 200 ms), and
    passes call progress (18x) on within ``progress_s`` of our INVITE (SIG-02: Lync's fast failover timer cancels
    and reroutes a call without 18x after 10 s). Both measured on the wire at the DUT's Mediation-side leg."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, _theirs, b = routed
    out = [route_held(_theirs, spec)]
    first = next((p for p in a.responses() if p.src == spec.dut_in_ip), None)
    want = f"a 100 Trying within {trying_ms} ms of our INVITE (frame {ours.frame})"
    if first is None:
        out.append(violation("SIG-01", "SIG-01", "M", want, "no response from the DUT"))
    else:
        ms = 1000 * (first.time - ours.time)
        seen = f"{status_text(first)} after {ms:.0f} ms"
        if ms > trying_ms:
            out.append(violation("SIG-01", "SIG-01", "M", want, seen + (" (Lync gives up on a gateway whose 100 "
                                 "takes over 1.5 s)" if ms > 1500 else ""), first.frame))
        else:
            out.append(passed("SIG-01", "SIG-01", "M", f"first response {seen}", first.frame))
    ringing = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status and 180 <= p.msg.status < 200]
    progress = [p for p in a.responses() if p.src == spec.dut_in_ip and p.msg.status and 180 <= p.msg.status < 200]
    want = f"an 18x to the caller within {progress_s:g} s of our INVITE (frame {ours.frame})"
    if progress and progress[0].time - ours.time <= progress_s:
        out.append(passed("SIG-02", "SIG-02", "R", f"{status_text(progress[0])} after "
                          f"{1000 * (progress[0].time - ours.time):.0f} ms", progress[0].frame))
    elif progress:
        out.append(violation("SIG-02", "SIG-02", "R", want, f"{status_text(progress[0])} after "
                             f"{progress[0].time - ours.time:.1f} s", progress[0].frame))
    elif ringing:
        out.append(violation("SIG-02", "SIG-02", "R", want, f"none, though the callee rang (frame "
                             f"{ringing[0].frame})", ringing[0].frame))
    else:
        raise_missing(f"our 18x from {spec.callee_ip}")
    return out


@check
def call_no_answer(trace: Trace, *, spec: CallSpec, accept: list | None = None, bound_s: float = 30.0
                   ) -> list[Finding]:
    """TC-BAS-09 (FO-01): the callee rings and never answers. When the DUT's own no-answer timer ends the call, the
    caller gets 408 or 480 (``accept``; a 503 would make Lync retry the call on another gateway, a 2xx connects
    nobody) and the DUT releases the callee's leg (CANCEL). When no final response came within ``bound_s`` of the
    last ringing, our caller cancelled as a user would: that is recorded (the DUT's timer, if any, is longer), not
    held against it."""
    accept = list(accept) if accept else [408, 480]
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    ringing = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status and 180 <= p.msg.status < 200]
    if not ringing:
        raise_missing(f"our 18x from {spec.callee_ip}")
    out = [route_held(theirs, spec)]
    cancels = [p for p in a.requests("CANCEL") if p.src == spec.caller_ip]
    final = a.final(src=spec.dut_in_ip)
    if final is not None and (not cancels or final.time < cancels[0].time):
        after = f"{final.time - ringing[0].time:.1f} s after the callee's {ringing[0].msg.status} (frame " \
                f"{ringing[0].frame})"
        want = f"{' or '.join(map(str, accept))} to the caller when the DUT's no-answer timer ends the call"
        if not _allowed(final.msg.status, accept):
            out.append(violation("FO-01", "FO-01", "M", want, f"{status_text(final)} {after}", final.frame))
        else:
            out.append(passed("FO-01", "FO-01", "M", f"no-answer timer: {status_text(final)} {after}", final.frame))
        released = [p for p in b.requests("CANCEL") + b.requests("BYE") if p.src == spec.dut_out_ip
                    and p.time >= ringing[0].time]
        want = f"the DUT releasing the callee's leg (CANCEL to {spec.callee_ip}) when it ended the call (frame " \
               f"{final.frame})"
        out.append(passed("CALL-RELEASE", "FO-01", "M", f"{want}: {released[0].msg.method}", released[0].frame)
                   if released else violation("CALL-RELEASE", "FO-01", "M", want, "no CANCEL or BYE on the "
                                              "callee's leg", final.frame))
        return out
    if not cancels:
        raise_missing(f"our CANCEL after {bound_s:g} s without a final response")
    out.append(passed("FO-01", "FO-01", "R", f"no final response from the DUT within {bound_s:g} s of the callee's "
                      f"{ringing[-1].msg.status} (frame {ringing[-1].frame}): its no-answer timer, if any, is longer; "
                      f"our caller cancelled (frame {cancels[0].frame}), the DUT answered "
                      f"{status_text(final)}", [cancels[0].frame] + ([final.frame] if final else [])))
    return out


@check
def delayed_offer_call(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-BAS-15 (SIG-08, informative): the caller's INVITE carries no SDP. Recorded: whether the DUT relays the
    delayed offer to the callee (its INVITE without SDP) or makes an offer itself. Judged: the call completes all
    the same (RFC 3261 13.2.1): the DUT's 200 to the caller carries an offer, an ACK with an answer reaches the
    callee when the callee made the offer, G.711 flows both ways on both legs, and the callee's BYE clears both."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    dut_offer = sdp_of(theirs)
    out.append(passed("SIG-08", "SIG-08", "I", "the DUT offered SDP itself in its INVITE to the callee "
                      f"(codecs {dut_offer.audio.codec_names() if dut_offer.audio else 'none'})" if dut_offer else
                      "the DUT relayed the delayed offer: its INVITE to the callee carries no SDP", theirs.frame))
    ok_b = b.final(src=spec.callee_ip)
    if ok_b is None or ok_b.msg.status != 200:
        raise_missing(f"our 200 OK from {spec.callee_ip}")
    ok_a = a.final(src=spec.dut_in_ip)
    if ok_a is None or ok_a.msg.status != 200:
        out.append(violation("CALL-ANSWER", ["SIG-08", "RFC3261-20"], "I", f"200 OK to the caller after the "
                             f"callee's 200 (frame {ok_b.frame})", status_text(ok_a), ok_a.frame if ok_a else None))
        return out
    if sdp_of(ok_a) is None or sdp_of(ok_a).audio is None:
        out.append(violation("MED-01", ["SIG-08", "MED-01"], "I", "an SDP offer in the DUT's 200 to the caller, "
                             "whose INVITE had none (RFC 3261 13.2.1)", "none", ok_a.frame))
        return out
    our_ack = next((p for p in a.requests("ACK") if p.src == spec.caller_ip and sdp_of(p) is not None), None)
    if our_ack is None:
        stop_unless_explained(out, "our ACK with the SDP answer")
        return out
    dut_acks = [p for p in b.requests("ACK") if p.src == spec.dut_out_ip and p.time >= ok_b.time]
    if not dut_acks:
        out.append(violation("RFC3261-10", "RFC3261-10", "M", f"an ACK from the DUT for the callee's 200 (frame "
                             f"{ok_b.frame}) after the caller's ACK (frame {our_ack.frame})", "none", ok_b.frame))
        return out
    b_sdp_msg = theirs
    if dut_offer is None:
        b_sdp_msg = dut_acks[0]
        if sdp_of(dut_acks[0]) is None:
            out.append(violation("SIG-08", ["SIG-08", "MED-01"], "I", "the caller's SDP answer (frame "
                                 f"{our_ack.frame}) in the DUT's ACK to the callee, who made the offer",
                                 "an ACK without SDP", dut_acks[0].frame))
            return out
        out.append(passed("SIG-08", "SIG-08", "I", "the caller's answer reached the callee in the DUT's ACK",
                          dut_acks[0].frame))
    out.extend(_media(trace, our_ack, ok_a, b_sdp_msg, ok_b, spec, out))
    out.extend(_cleared(a, b, spec, "callee", out))
    return out


T1, T2 = 0.5, 4.0
SCHEDULE_TOLERANCE = 0.4      # each retransmission interval within ±40 % of T1, 2T1, ... T2 (as rule RFC3261-11)


def _twice(a: SipPacket, b: SipPacket) -> bool:
    """The same bytes again within 1 ms: one packet captured on two interfaces."""
    return b.time - a.time < 0.001 and a.msg.raw == b.msg.raw


@check
def two_xx_retransmitted(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-BAS-14 (RFC3261-11, RFC 3261 section 13.3.1.4): the caller (our Mediation side) never ACKs the 200. On the
    caller's leg the DUT must retransmit that 200 at T1, 2T1, ... capped at T2 (T1 0.5 s, T2 4 s; ±40 %), stop
    after 64*T1 (32 s), and then end the call with a BYE toward the caller (by 64*T1 + 10 % + T2). Severity: M for
    a 200 never retransmitted and for no BYE (the call stays up on the Mediation Server); R for the schedule and for
    a BYE before 64*T1. A proxy meets this by relaying our far end's retransmissions and BYE (our far agent is an
    RFC 3261 UAS that gets no ACK either); a B2BUA by sending its own: which one is recorded, the requirement on the
    Mediation leg being the same."""
    req = ["RFC3261-11"]
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    oks = [p for p in a.responses() if p.src == spec.dut_in_ip and p.msg.status and 200 <= p.msg.status < 300]
    if not oks:
        final = a.final(src=spec.dut_in_ip)
        return out + [violation("CALL-UP", ["TRN-01"], "M", f"a 200 to our INVITE (frame {ours.frame}) from the "
                                "answered far end", status_text(final), final.frame if final else None)]
    first = oks[0]
    tag = first.msg.to.tag if first.msg.to else None
    again: list[SipPacket] = []
    for p in oks[1:]:
        if (p.msg.to.tag if p.msg.to else None) == tag and not _twice(again[-1] if again else first, p):
            again.append(p)
    if [p for p in a.requests("ACK") if p.src == spec.caller_ip]:
        raise_missing("our withheld ACK (the Mediation side acknowledged the 200, so the case tested nothing)")
    far_oks = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status and 200 <= p.msg.status < 300]
    relayed = bool(again) and all(any(0 <= p.time - f.time <= 0.3 for f in far_oks) for p in again)
    who = ("relayed by the DUT from our far end, which got no ACK either (a proxy)" if relayed else
           "sent by the DUT itself (a B2BUA)")
    end = trace.sip[-1].time if trace.sip else first.time
    if not again:
        if end - first.time < 2 * T1:
            stop_unless_explained(out, "a capture long enough to show the 200 retransmitted")
        return out + [violation("RFC3261-11", req, "M", f"the 200 (frame {first.frame}) retransmitted while no ACK "
                                f"comes: at +{T1:g} s, then doubling up to {T2:g} s",
                                f"sent once; no retransmission in the {end - first.time:.1f} s that followed",
                                first.frame)]
    prev, late = first, []
    for n, p in enumerate(again):
        step, gap = min(T1 * 2 ** n, T2), p.time - prev.time
        if p.time - first.time > 64 * T1 * 1.1:
            late.append(p)
        elif abs(gap - step) > SCHEDULE_TOLERANCE * step:
            out.append(violation("RFC3261-11", req, "R", f"a 200 retransmission {step:g} s (±40 %) after frame "
                                 f"{prev.frame}", f"{gap:.2f} s", p.frame))
        prev = p
    if late:
        out.append(violation("RFC3261-11", req, "R", f"no 200 retransmission after 64*T1 ({64 * T1:.0f} s)",
                             f"one at +{late[0].time - first.time:.1f} s", late[0].frame))
    times = ", ".join(f"+{p.time - first.time:.1f}" for p in again)
    if not any(not f.ok for f in out):
        out.append(passed("RFC3261-11", req, "M", f"200 retransmitted {len(again)} times without ACK (at {times} s), "
                          f"{who}", [first.frame] + [p.frame for p in again]))
    due = first.time + 64 * T1 * 1.1 + T2
    byes = [p for p in a.requests("BYE") if p.src == spec.dut_in_ip and p.time > first.time]
    if not byes:
        if end <= due:
            stop_unless_explained(out, f"a capture running to +{due - first.time:.0f} s, to show the DUT's BYE")
            return out
        return out + [violation("RFC3261-11", req, "M", f"a BYE to the Mediation side within 64*T1 + T2 "
                                f"({due - first.time:.0f} s) of the unacknowledged 200 (frame {first.frame})",
                                f"none; the capture runs on to +{end - first.time:.0f} s", again[-1].frame)]
    bye = byes[0]
    far_bye = [p for p in b.requests("BYE") if p.src == spec.callee_ip and 0 <= bye.time - p.time <= 1]
    source = "relayed from our far end's BYE" if far_bye else "the DUT's own"
    at = bye.time - first.time
    if bye.time > due:
        out.append(violation("RFC3261-11", req, "M", f"a BYE within 64*T1 + T2 ({due - first.time:.0f} s) of the "
                             f"unacknowledged 200 (frame {first.frame})", f"BYE at +{at:.1f} s", bye.frame))
    elif at < 64 * T1 * 0.9:
        out.append(violation("RFC3261-11", req, "R", f"the BYE only after 64*T1 ({64 * T1:.0f} s) without ACK",
                             f"BYE at +{at:.1f} s", bye.frame))
    else:
        out.append(passed("RFC3261-11", req, "M", f"BYE to the Mediation side at +{at:.1f} s without ACK "
                          f"({source})", bye.frame))
    return out
