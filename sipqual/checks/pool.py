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
from .common import CallSpec, StimulusMissing, dut_invite_toward, leg_of, raise_missing, status_text, stimulus

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
