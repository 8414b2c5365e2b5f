"""Checks of suite SEC (sipqual's security extension, issue 15), judged on the capture alone.

- TC-SEC-01 untrusted source: a request from an address outside the Mediation pool gets 403 or nothing, and never
  reaches the far side. Legs are correlated by what we control: our INVITE by its marker, the far leg by the DUT's
  far-side address (nothing else calls in that case), never by Call-ID.
"""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import leg_of, raise_missing, stimulus


@check
def untrusted_source_refused(trace: Trace, *, test_id: str, source_ip: str, dut_ip: str,
                             dut_far_ip: str) -> list[Finding]:
    """TC-SEC-01 (SEC-01, M): our INVITE ``test_id`` from ``source_ip`` (ours, not a Mediation pool member) to the
    DUT at ``dut_ip``: the DUT answers 403 or nothing at all (silence), and sends no INVITE from ``dut_far_ip`` to
    the far side afterwards (a call placed from anywhere)."""
    ours = stimulus(trace, "INVITE", test_id, source_ip)
    if ours is None:
        raise_missing(f"our INVITE from the untrusted address {source_ip}")
    relayed = [p for p in trace.requests("INVITE") if p.src == dut_far_ip and p.time >= ours.time]
    out = []
    if relayed:
        p = relayed[0]
        out.append(violation("SEC-01", "SEC-01", "M", f"no call toward the far side for our INVITE from {source_ip} "
                             f"(not a Mediation pool member; frame {ours.frame})", f"the DUT sent it on to {p.dst} "
                             f"as {p.msg.request_uri.raw if p.msg.request_uri else '?'}", p.frame))
    finals = [p for p in leg_of(trace, ours).responses() if p.src == dut_ip and p.msg.status and p.msg.status >= 200]
    final = finals[0] if finals else None
    if final is None:
        if not relayed:
            out.append(passed("SEC-01", "SEC-01", "M", f"the DUT ignored our INVITE from {source_ip}, an address "
                              f"outside the Mediation pool (no answer, no call on the far side)", ours.frame))
    elif final.msg.status == 403:
        if not relayed:
            out.append(passed("SEC-01", "SEC-01", "M", f"the DUT refused our INVITE from {source_ip}, an address "
                              f"outside the Mediation pool, with 403 {final.msg.reason}", final.frame))
    else:
        out.append(violation("SEC-01", "SEC-01", "M", f"403 or no answer to our INVITE from {source_ip} (not a "
                             f"Mediation pool member; frame {ours.frame})", f"{final.msg.status} {final.msg.reason}",
                             final.frame))
    return out
