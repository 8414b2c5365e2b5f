"""Checks of suite OPT: health probing between the Mediation Server and the DUT."""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import raise_missing, stimulus

@check
def options_answered(trace: Trace, *, test_id: str, our_ip: str, dut_ip: str) -> list[Finding]:
    """TC-OPT-01: OPT-01 (final response, 200) and OPT-02 (Allow and Supported in the 200) to the OPTIONS the suite
    sent from ``our_ip`` with marker ``test_id``."""
    reqs = ["OPT-01"]
    request = stimulus(trace, "OPTIONS", test_id, our_ip)
    if request is None:
        raise_missing("our OPTIONS request")
    answers = [p for p in trace.sip if not p.msg.is_request and p.src == dut_ip
               and p.msg.call_id == request.msg.call_id and p.msg.cseq_method == "OPTIONS"]
    finals = [p for p in answers if p.msg.status and p.msg.status >= 200]
    if not finals:
        seen = ", ".join(f"{p.msg.status} (frame {p.frame})" for p in answers) or "no response at all"
        return [violation("OPT-01", reqs, "M", f"a final response to OPTIONS (frame {request.frame})", seen)]
    f = finals[0]
    out = []
    if f.msg.status != 200:
        out.append(violation("OPT-01", reqs, "M", "200 OK to OPTIONS", f"{f.msg.status} {f.msg.reason}", f.frame))
    else:
        out.append(passed("OPT-01", reqs, "M", f"200 OK to OPTIONS after {1000 * (f.time - request.time):.0f} ms",
                          f.frame))
    for header in ("Allow", "Supported"):
        if not f.msg.has(header):
            out.append(violation("OPT-02", "OPT-02", "R", f"{header} in the 200 to OPTIONS", "none", f.frame))
        else:
            out.append(passed("OPT-02", "OPT-02", "R", f"{header}: {f.msg.get(header)}", f.frame))
    return out
