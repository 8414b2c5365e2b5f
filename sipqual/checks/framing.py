"""Checks of TC-TRN-08 (TRN-09, TLS-05): the DUT opens a new connection to the Mediation port after the Mediation
side closed the last one, and reads SIP framed as TCP and TLS allow (several messages in one segment or record,
one message across segments or records). Judged from the capture; the connections are told apart by the DUT's
source port, never by Call-ID."""

from __future__ import annotations

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, raise_missing, route, status_text, stimulus


def _final(trace: Trace, request: SipPacket, dut_ip: str) -> SipPacket | None:
    return next((p for p in trace.sip if not p.msg.is_request and p.src == dut_ip and p.time >= request.time
                 and p.msg.call_id == request.msg.call_id and p.msg.cseq_method == request.msg.method
                 and p.msg.status and p.msg.status >= 200), None)


@check
def reconnected(trace: Trace, *, first: CallSpec, second: CallSpec) -> list[Finding]:
    """TC-TRN-08 (a), TLS-05: the IN call ``second``, placed after the Mediation side closed the connection that
    carried the IN call ``first``, reaches the Mediation side on a new connection from the DUT (another source
    port), over the case's transport (on TLS never in clear). Whether each call itself works is
    :func:`sipqual.checks.basic_call`'s."""
    reqs = ["TLS-05", "TRN-09"]
    r1 = route(trace, first)
    if isinstance(r1, Finding):
        return [r1]
    before = r1[2]
    r2 = route(trace, second)
    if isinstance(r2, Finding):
        ours = stimulus(trace, "INVITE", second.test_id, second.caller_ip)
        final = _final(trace, ours, second.dut_in_ip) if ours is not None else None
        return [violation("TLS-05", reqs, "M", f"the next IN call (frame {ours.frame if ours else '?'}) sent to "
                          f"{second.callee_ip} on a new connection after the Mediation side closed the one of "
                          f"frame {before.frame}", f"no INVITE toward the Mediation side; the caller got "
                          f"{status_text(final)}", final.frame if final else None)]
    after = r2[2]
    if (after.sport, after.dport) == (before.sport, before.dport):
        raise_missing("the closed connection (the second call came on the same one: the Mediation side did not "
                      "close it)")
    out = []
    if second.callee_transports and after.transport not in second.callee_transports:
        out.append(violation("TLS-05", reqs, "M", f"the new connection over {'/'.join(second.callee_transports)}",
                             after.transport, after.frame))
    out.append(passed("TLS-05", reqs, "M", f"after the Mediation side closed the connection from port "
                      f"{before.sport} (frame {before.frame}), the DUT sent the next call on a new {after.transport} "
                      f"connection from port {after.sport}", after.frame))
    return out


@check
def framing_handled(trace: Trace, *, our_ip: str, dut_ip: str, test_id: str) -> list[Finding]:
    """TC-TRN-08 (b), TRN-09: two OPTIONS we sent in one TCP segment (one TLS record on TLS) and one we split
    across two writes each get a final response from the DUT that is not 400 (a 400 or silence means it misread the
    stream). Markers ``test_id``-pipe-1, -pipe-2 and -split (:mod:`sipqual.framer`)."""
    reqs = ["TRN-09"]
    out = []
    sent = {}
    for suffix in ("pipe-1", "pipe-2", "split"):
        p = stimulus(trace, "OPTIONS", f"{test_id}-{suffix}", our_ip)
        if p is None:
            raise_missing(f"our {suffix.replace('-', ' ')} OPTIONS")
        sent[suffix] = p
    if sent["pipe-1"].frame != sent["pipe-2"].frame:
        raise_missing("our two pipelined OPTIONS in one segment (they went in frames "
                      f"{sent['pipe-1'].frame} and {sent['pipe-2'].frame})")
    unit = "TLS record" if sent["pipe-1"].transport == "TLS" else "TCP segment"
    for suffix, what in (("pipe-1", f"the first of two OPTIONS in one {unit} (frame {sent['pipe-1'].frame})"),
                         ("pipe-2", f"the second of two OPTIONS in one {unit} (frame {sent['pipe-2'].frame})"),
                         ("split", f"an OPTIONS split across two {unit}s (ending in frame {sent['split'].frame})")):
        final = _final(trace, sent[suffix], dut_ip)
        if final is None or final.msg.status == 400:
            out.append(violation("TRN-09", reqs, "M", f"a final response to {what}", status_text(final),
                                 final.frame if final else sent[suffix].frame))
        else:
            out.append(passed("TRN-09", reqs, "M", f"{what} answered {status_text(final)}", final.frame))
    return out
