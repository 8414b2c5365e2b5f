"""Checks of suite BAS: calls that end before they are answered (rejected, cancelled)."""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, raise_missing, route, route_held, status_text

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
def call_cancelled(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-BAS-05 (RFC3261-09, FO-05): the caller cancels while the callee rings. The DUT answers the CANCEL with 200
    and the INVITE with 487, never connects the call, and releases the callee's leg (a CANCEL, or a BYE if that leg
    was answered meanwhile) after our CANCEL."""
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
    released = [p for p in b.requests("CANCEL") + b.requests("BYE") if p.src == spec.dut_out_ip
                and p.time >= cancel.time]
    want = f"the DUT releasing the callee's leg (CANCEL to {spec.callee_ip}) after our CANCEL (frame {cancel.frame})"
    out.append(passed("FO-05", "FO-05", "M", f"{want}: {released[0].msg.method} after "
                      f"{1000 * (released[0].time - cancel.time):.0f} ms", released[0].frame) if released
               else violation("FO-05", "FO-05", "M", want, "no CANCEL or BYE on the callee's leg"))
    return out
