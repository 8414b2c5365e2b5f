"""Checks of the Mediation pool cases (issue 14): a DUT whose first pool member is out of service tries the next
one (FO-06, TRN-05), and how long the caller waited for it. The call through the member that answered is judged by
:func:`.calls.basic_call` beside it.

Legs are correlated as everywhere (:mod:`.common`): our INVITE by its marker, the DUT's INVITEs toward each member by
the dialled number and time; the members are told apart by their addresses.
"""

from __future__ import annotations

from ..pcapread import CaptureFormatError, Truncated, _ip_offset, read_blocks
from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import (MARKER, CallSpec, StimulusMissing, dut_invite_toward, leg_of, number_matches, raise_missing,
                     status_text, stimulus)

FAILURES = ("503", "unreachable")
TCP = 6


def _ip(raw: bytes) -> str:
    return ".".join(map(str, raw))


def connection_attempts(trace: Trace, src: str, dst: str, dport: int | None) -> list[tuple[int, float]]:
    """(frame, time) of every TCP SYN (without ACK) from ``src`` to ``dst`` (port ``dport`` when given) in the
    capture: the DUT's attempts to connect to a member that never answers them, which no SIP message shows."""
    out = []
    try:
        with open(trace.path, "rb") as f:
            for block in read_blocks(f):
                fr = block.frame
                if fr is None:
                    continue
                data = fr.data
                off = _ip_offset(fr.linktype, data)
                if off is None or len(data) < off + 20 or data[off] >> 4 != 4 or data[off + 9] != TCP:
                    continue
                tcp = off + (data[off] & 0x0F) * 4
                if len(data) < tcp + 14 or _ip(data[off + 12:off + 16]) != src or _ip(data[off + 16:off + 20]) != dst:
                    continue
                port, flags = int.from_bytes(data[tcp + 2:tcp + 4], "big"), data[tcp + 13]
                if flags & 0x02 and not flags & 0x10 and (dport is None or port == dport):
                    out.append((fr.number, fr.time))
    except (OSError, CaptureFormatError, Truncated):
        pass     # an unreadable or cut capture: the reader's own findings say so (ERROR "incomplete")
    return out


@check
def pool_failover(trace: Trace, *, spec: CallSpec, first_ip: str, failure: str) -> list[Finding]:
    """Pool member ``first_ip`` is out of service (``failure``: "503", it answered the DUT's INVITE 503; or
    "unreachable", it never accepted the DUT's connection): the DUT must send the call to the next member
    (``spec.callee_ip``) and the caller must not see the failure. The time from our INVITE to the DUT's INVITE to
    the next member (and, after a 503, from that 503) is recorded."""
    if failure not in FAILURES:
        raise ValueError(f"failure {failure!r}: one of {FAILURES}")
    reqs = ["FO-06", "TRN-05"]
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None:
        raise_missing("our INVITE")
    first = dut_invite_toward(trace, spec.dut_out_ip, first_ip, spec.called, ours.time)
    second = dut_invite_toward(trace, spec.dut_out_ip, spec.callee_ip, spec.called, ours.time)
    caller_final = leg_of(trace, ours).final(src=spec.dut_in_ip)
    if failure == "503":
        if first is None:
            if second is not None:
                raise StimulusMissing(f"the DUT sent the call to pool member {spec.callee_ip} (frame {second.frame}) "
                                      f"without trying {first_ip}, the member that answers 503: the failover "
                                      f"could not be tried (the DUT picks the member itself)")
            return [violation("CALL-ROUTE", ["TRN-01", *reqs], "M", f"an INVITE from the DUT to a Mediation pool "
                              f"member for {spec.called} after frame {ours.frame}", status_text(caller_final))]
        refused = [p for p in leg_of(trace, first).responses() if p.src == first_ip and p.msg.status == 503]
        if not refused:
            raise StimulusMissing(f"pool member {first_ip}'s 503 to the DUT's INVITE (frame {first.frame}) is not in "
                                  f"the capture: the failure was never injected")
        since, what = refused[0], f"pool member {first_ip} answered 503 (frame {refused[0].frame})"
    else:
        if first is not None:
            raise StimulusMissing(f"an INVITE reached pool member {first_ip} (frame {first.frame}), which was to "
                                  f"be unreachable: the failure was never injected")
        tried = [a for a in connection_attempts(trace, spec.dut_out_ip, first_ip, spec.callee_port)
                 if a[1] >= ours.time and (second is None or a[1] <= second.time)]
        if not tried:
            if second is not None:
                raise StimulusMissing(f"the DUT sent the call to pool member {spec.callee_ip} (frame {second.frame}) "
                                      f"without trying to connect to {first_ip}, the unreachable member: the "
                                      f"failover could not be tried (the DUT picks the member itself)")
            return [violation("CALL-ROUTE", ["TRN-01", *reqs], "M", f"an INVITE from the DUT to a Mediation pool "
                              f"member for {spec.called} after frame {ours.frame}", status_text(caller_final))]
        since = ours
        what = (f"pool member {first_ip} did not accept the DUT's connection ({len(tried)} SYN(s) unanswered, "
                f"first at frame {tried[0][0]})")
    if second is None or second.time < since.time:
        return [violation("FO-06", reqs, "M", f"{what}: an INVITE from the DUT to the pool's next member "
                          f"{spec.callee_ip} for {spec.called}", f"none; our INVITE (frame {ours.frame}) got "
                          f"{status_text(caller_final)}", caller_final.frame if caller_final else since.frame)]
    waited = second.time - ours.time
    after = (f", {second.time - since.time:.2f} s after that 503" if failure == "503" else
             f", {second.time - tried[0][1]:.2f} s after its first SYN to {first_ip}")
    return [passed("FO-06", reqs, "M", f"{what}; the DUT sent the call to {spec.callee_ip} (frame {second.frame}) "
                   f"{waited:.2f} s after our INVITE (frame {ours.frame}){after}",
                   [since.frame, *([tried[0][0]] if failure == "unreachable" else []), second.frame])]


@check
def member_accepted(trace: Trace, *, spec: CallSpec, member: str) -> list[Finding]:
    """TRN-05, any-member acceptance: the INVITE pool member ``member`` (at ``spec.caller_ip``) sent is answered
    200 like ms1's, not refused because it comes from another address than the first member's. The rest of the
    call is :func:`.calls.basic_call`'s."""
    ours = stimulus(trace, "INVITE", spec.test_id, spec.caller_ip)
    if ours is None:
        raise_missing(f"the INVITE from pool member {member} ({spec.caller_ip})")
    final = leg_of(trace, ours).final(src=spec.dut_in_ip)
    if final is None or final.msg.status != 200:
        return [violation("TRN-05", ["TRN-05"], "M", f"the INVITE from pool member {member} ({spec.caller_ip}, "
                          f"frame {ours.frame}) accepted like any pool member's (200 OK)", status_text(final),
                          final.frame if final else ours.frame)]
    return [passed("TRN-05", ["TRN-05"], "M", f"the INVITE from pool member {member} ({spec.caller_ip}, frame "
                   f"{ours.frame}) answered 200 OK", final.frame)]


def _our_invites(trace: Trace, test_id: str, src: str) -> list:
    """Every call our agent at ``src`` placed in this case (first transmission of each Call-ID), in time order."""
    seen, out = set(), []
    for p in trace.requests("INVITE"):
        if p.src == src and p.msg.get(MARKER) == test_id and p.msg.call_id not in seen:
            seen.add(p.msg.call_id)
            out.append(p)
    return out


def _pings(trace: Trace, dut_ip: str, member_ip: str, before: float, after: float = 0.0) -> tuple[list, list]:
    """The DUT's OPTIONS to a member in (after, before): (answered with 2xx, unanswered)."""
    answered, unanswered = [], []
    for p in trace.requests("OPTIONS"):
        if p.src != dut_ip or p.dst != member_ip or not after <= p.time < before:
            continue
        ok = [r for r in trace.responses("OPTIONS") if r.msg.call_id == p.msg.call_id and r.src == member_ip
              and r.msg.status and 200 <= r.msg.status < 300]
        (answered if ok else unanswered).append(p)
    return answered, unanswered


@check
def silent_member_avoided(trace: Trace, *, spec: CallSpec, silent_ip: str, other_ip: str) -> list[Finding]:
    """TC-OPT-04. ``spec`` is the IN call (its callee_ip unused); our far agent calls twice. Call 1 follows an OPTIONS
    ping of the DUT to ``silent_ip`` that went unanswered: the DUT must send it to ``other_ip``, not to the silent
    member. Call 2 follows a ping to ``silent_ip`` answered 200: the DUT must send it to ``silent_ip`` again (it is the
    first A record, so a DUT that uses it no more keeps a recovered member down)."""
    reqs = ["OPT-04", "FO-06"]
    ours = _our_invites(trace, spec.test_id, spec.caller_ip)
    if len(ours) < 2:
        raise_missing(f"our two IN calls (found {len(ours)})")
    first, second = ours[0], ours[1]
    _, silent = _pings(trace, spec.dut_out_ip, silent_ip, first.time)
    if not silent:
        raise StimulusMissing(f"no OPTIONS from the DUT to {silent_ip} went unanswered before our first call (frame "
                              f"{first.frame}): the silence was never shown to the DUT")
    answered, _ = _pings(trace, spec.dut_out_ip, silent_ip, second.time, after=silent[-1].time)
    if not answered:
        raise StimulusMissing(f"no OPTIONS from the DUT to {silent_ip} was answered 200 between the silence and our "
                              f"second call (frame {second.frame}): the recovery was never shown to the DUT")
    out = []
    for n, (call, until, want, avoid, why) in enumerate((
            (first, second.time, other_ip, silent_ip, f"its OPTIONS went unanswered (frame {silent[-1].frame})"),
            (second, float("inf"), silent_ip, other_ip, f"its OPTIONS were answered again (frame "
                                                        f"{answered[0].frame})")), start=1):
        to = [p for p in trace.requests("INVITE") if p.src == spec.dut_out_ip and p.dst in (silent_ip, other_ip)
              and call.time <= p.time < until and _is_call(p, spec.called)]
        final = leg_of(trace, call).final(src=spec.dut_in_ip)
        if not to:
            out.append(violation("CALL-ROUTE", ["TRN-01", *reqs], "M", f"call {n} (frame {call.frame}) sent to a "
                                 f"Mediation pool member", status_text(final), final.frame if final else call.frame))
            continue
        if n == 1:
            if to[0].dst == avoid:
                out.append(violation("OPT-04", reqs, "R", f"call {n} (frame {call.frame}) not sent to {silent_ip} "
                                     f"after {why}", f"the DUT's INVITE went to {silent_ip}", to[0].frame))
            else:
                out.append(passed("OPT-04", reqs, "R", f"call {n} (frame {call.frame}) avoided {silent_ip} after "
                                  f"{why}: the DUT sent it to {to[0].dst}", to[0].frame))
        elif to[0].dst != want:
            out.append(violation("OPT-04", reqs, "R", f"call {n} (frame {call.frame}) sent to {silent_ip}, the "
                                 f"pool's first member, after {why}", f"the DUT's INVITE went to {to[0].dst}: "
                                 f"the recovered member kept down", to[0].frame))
        else:
            out.append(passed("OPT-04", reqs, "R", f"call {n} (frame {call.frame}) sent to {silent_ip} again after "
                              f"{why}", to[0].frame))
    return out


def _is_call(p, number: str) -> bool:
    m = p.msg
    return number_matches(m.request_uri.user if m.request_uri else None, number) or \
        number_matches(m.to.uri.user if m.to and m.to.uri else None, number)
