"""Checks of suite BAS: calls that end before they are answered (rejected, cancelled). Answered basic calls are
judged by :func:`sipqual.checks.calls.basic_call`."""

from __future__ import annotations

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, Leg, raise_missing, route, route_held, status_text

@check
def call_rejected(trace: Trace, *, spec: CallSpec, status: int) -> list[Finding]:
    """TC-BAS-07 (FO-01): the callee rejects the call with ``status`` for a user reason (486 busy); the DUT passes
    the same response back to the caller, never a 503 that would make Lync retry another gateway."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    rejection = b.final(src=spec.callee_ip)
    if rejection is None or rejection.msg.status != status:
        raise_missing(f"our {status} from {spec.callee_ip}")
    final = a.final(src=spec.dut_in_ip)
    want = f"{status} to the caller after the callee's {status} (frame {rejection.frame})"
    if final is None or final.msg.status != status:
        return [route_held(theirs, spec), violation("FO-01", "FO-01", "M", want, status_text(final),
                                                 final.frame if final else None)]
    return [route_held(theirs, spec), passed("FO-01", "FO-01", "M", f"{want}: {status_text(final)} after "
                                          f"{1000 * (final.time - rejection.time):.0f} ms", final.frame)]


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
