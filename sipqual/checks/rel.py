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


T1 = 0.5
_TOL = 0.4            # a retransmission interval within +-40 % of T1 * 2^n counts (as RFC3261-11's passive rule)


def _rseq(p) -> int | None:
    v = (p.msg.get("RSeq") or "").strip()
    return int(v) if v.isdigit() else None


@check
def reliable_provisional(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-REL-02 (RFC3262-02/03, optional): our INVITE supports 100rel and we withhold the PRACK after the DUT's
    first reliable 18x (until two retransmissions came, at most 3 s each). The DUT's reliable 18x carries Require:
    100rel and an RSeq in 1..2^31-1; it is retransmitted while unacknowledged at T1 doubling (0.5 s, 1 s, ...; RFC
    3262 section 3, on every transport: each one due before our PRACK, less 0.2 s, must be there) and no longer
    once our PRACK is answered 200; the call then completes (200, ACK, our BYE relayed). A proxy's
    retransmissions relay the far end's: recorded."""
    from .calls import _cleared

    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    if "100rel" not in option_tags(ours.msg, "Supported"):
        raise_missing("our INVITE supporting 100rel")
    out = [route_held(theirs, spec)]
    prov = [p for p in a.responses() if p.src == spec.dut_in_ip and p.msg.status and 100 < p.msg.status < 200]
    reliable = [p for p in prov if "100rel" in option_tags(p.msg, "Require") and p.msg.has("RSeq")]
    far_rel = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.has("RSeq")]
    if not reliable:
        seen = ", ".join(f"{p.msg.status} (frame {p.frame})" for p in prov) or "no provisional response but 100"
        why = f" though the far end rang reliably (frame {far_rel[0].frame})" if far_rel else ""
        out.append(violation("RFC3262-02", ["RFC3262-02"], "O", f"a reliable 18x (Require: 100rel, RSeq) to our "
                             f"INVITE supporting 100rel (frame {ours.frame}){why}", seen, prov[0].frame if prov else
                             None))
        return out
    first = reliable[0]
    rseq = _rseq(first)
    want = "Require: 100rel and an RSeq in 1..2^31-1 on the reliable 18x"
    if rseq is None or not 1 <= rseq <= 2 ** 31 - 1:
        out.append(violation("RFC3262-02", "RFC3262-02", "O", want, f"RSeq: {first.msg.get('RSeq')}", first.frame))
        return out
    out.append(passed("RFC3262-02", "RFC3262-02", "O", f"{first.msg.status} {first.msg.reason} with Require: "
                      f"100rel, RSeq: {rseq}", first.frame))
    pracks = [p for p in a.requests("PRACK") if p.src == spec.caller_ip]
    if not pracks:
        raise_missing("our PRACK")
    prack = pracks[0]
    same = [p for p in reliable if _rseq(p) == rseq]
    before = [p for p in same if p.time < prack.time]
    times = [p.time for p in before]
    gaps = [t2 - t1 for t1, t2 in zip(times, times[1:])]
    withhold_s = prack.time - first.time
    want = (f"the reliable {first.msg.status} (RSeq {rseq}) retransmitted at T1 doubling ({T1:g} s, {2 * T1:g} s, "
            f"...) while our PRACK was withheld for {withhold_s:.1f} s (RFC 3262 section 3)")
    expected = [T1 * 2 ** i for i in range(len(gaps))]
    late = [(g, e) for g, e in zip(gaps, expected) if not (1 - _TOL) * e <= g <= (1 + _TOL) * e]
    n_due = sum(1 for i in range(8) if T1 * (2 ** (i + 1) - 1) < withhold_s - 0.2)   # retransmissions due
    relayed = sum(1 for p in far_rel if _rseq(p) == rseq and p.time < prack.time)
    origin = (f"; the far end sent it {relayed} time(s) in that time" if relayed else "")
    seen = f"{len(before)} transmission(s), intervals {', '.join(f'{g:.2f}' for g in gaps) or 'none'} s{origin}"
    if len(before) - 1 < n_due or late:
        out.append(violation("RFC3262-02", ["RFC3262-02"], "O", want, seen, [p.frame for p in before[:4]]))
    else:
        out.append(passed("RFC3262-02", ["RFC3262-02"], "O", f"{want}: {seen}", [p.frame for p in before[:4]]))
    ok = [p for p in a.responses("PRACK") if p.src == spec.dut_in_ip and p.msg.status and p.msg.status >= 200]
    want = f"a 200 to our PRACK (frame {prack.frame}, RAck: {prack.msg.get('RAck')})"
    if not ok or ok[0].msg.status != 200:
        out.append(violation("RFC3262-03", "RFC3262-03", "O", want, f"{ok[0].msg.status} {ok[0].msg.reason}" if ok
                             else "none", ok[0].frame if ok else prack.frame))
        return out
    out.append(passed("RFC3262-03", "RFC3262-03", "O", want, ok[0].frame))
    after = [p for p in same if p.time > ok[0].time + 0.2]
    if after:
        out.append(violation("RFC3262-02", "RFC3262-02", "O", f"no retransmission of the {first.msg.status} (RSeq "
                             f"{rseq}) once our PRACK was answered (frame {ok[0].frame})", f"one at frame "
                             f"{after[0].frame}", after[0].frame))
    final = a.final(src=spec.dut_in_ip)
    if final is None or final.msg.status != 200:
        out.append(violation("CALL-ANSWER", "RFC3261-20", "M", "200 OK to our INVITE after the PRACK",
                             f"{final.msg.status} {final.msg.reason}" if final else "none",
                             final.frame if final else None))
        return out
    out.extend(_cleared(a, b, spec, "caller", out))
    return out
