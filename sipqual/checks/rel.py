"""Checks of suite REL: reliable provisional responses (RFC 3262) toward the Mediation side. Lync's Mediation Server
is not documented to support 100rel (SIG-05): a DUT must never require it of the Mediation side, and may answer the
Mediation side reliably only when its INVITE listed 100rel."""

from __future__ import annotations

from ..dialogs import option_tags
from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, raise_missing, route, route_held


@check
def no_100rel_toward_mediation(trace: Trace, *, in_spec: CallSpec, out_spec: CallSpec) -> list[Finding]:
    """TC-REL-01 (SIG-05, RFC3262-01/04). IN call (the far caller supports 100rel): the DUT's INVITE to the
    Mediation side carries no Require: 100rel (nor Proxy-Require). OUT call (our INVITE does not list 100rel): no
    provisional response from the DUT to us is reliable (Require: 100rel or RSeq)."""
    out: list[Finding] = []
    routed = route(trace, in_spec)
    if isinstance(routed, Finding):
        out.append(routed)
    else:
        _ours, _a, theirs, _b = routed
        out.append(route_held(theirs, in_spec))
        required = option_tags(theirs.msg, "Require") | option_tags(theirs.msg, "Proxy-Require")
        want = "no Require: 100rel in the DUT's INVITE to the Mediation side (a peer without 100rel answers 420)"
        if "100rel" in required:
            hdrs = "; ".join(f"{h}: {theirs.msg.get(h)}" for h in ("Require", "Proxy-Require") if theirs.msg.has(h))
            out.append(violation("SIG-05", ["SIG-05", "RFC3262-04"], "M", want, hdrs, theirs.frame))
        else:
            sup = ", ".join(theirs.msg.supported) or "none"
            out.append(passed("SIG-05", ["SIG-05", "RFC3262-04"], "M", f"{want}: Supported {sup}", theirs.frame))
    routed = route(trace, out_spec)
    if isinstance(routed, Finding):
        out.append(routed)
        return out
    ours, a, theirs, _b = routed
    out.append(route_held(theirs, out_spec))
    if "100rel" in option_tags(ours.msg, "Supported") | option_tags(ours.msg, "Require"):
        raise_missing("our INVITE without 100rel")
    prov = [p for p in a.responses() if p.src == out_spec.dut_in_ip and p.msg.status and 100 < p.msg.status < 200]
    reliable = [p for p in prov if "100rel" in option_tags(p.msg, "Require") or p.msg.has("RSeq")]
    want = f"no reliable provisional response to our INVITE without 100rel (frame {ours.frame})"
    if reliable:
        p = reliable[0]
        out.append(violation("SIG-05", ["SIG-05", "RFC3262-01"], "M", want, f"{p.msg.status} {p.msg.reason} with "
                             + "; ".join(f"{h}: {p.msg.get(h)}" for h in ("Require", "RSeq") if p.msg.has(h)),
                             p.frame))
    else:
        seen = ", ".join(f"{p.msg.status} (frame {p.frame})" for p in prov) or "no provisional response but 100"
        out.append(passed("SIG-05", ["SIG-05", "RFC3262-01"], "M", f"{want}: {seen}",
                          [p.frame for p in prov[:3]]))
    return out
