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


def _answer_to(leg, req, src):
    """The first final response ``src`` sent to request ``req`` (same CSeq) on ``leg``."""
    seq = req.msg.cseq.seq if req.msg.cseq else None
    return next((p for p in leg.messages if not p.msg.is_request and p.src == src and p.msg.cseq
                 and p.msg.cseq.seq == seq and p.msg.cseq_method == req.msg.method and (p.msg.status or 0) >= 200),
                None)


@check
def update_in_dialog(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-REL-03 (SIG-06, RFC3311-01): in the confirmed OUT call the DUT answers our UPDATE without SDP with 200,
    our UPDATE with an offer with 200 and an SDP answer, passes the far end's UPDATE with an offer on to us, and
    answers our UPDATE with an offer that crosses it (sent while that offer is outstanding toward us) with 491
    Request Pending (RFC 3311 5.2; a proxy relays the far end's 491, a B2BUA sends its own: recorded). The call
    then ends with our BYE, relayed."""
    from .calls import _cleared
    from .common import sdp_of

    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    ups = [p for p in a.requests("UPDATE") if p.src == spec.caller_ip]
    seen, mine = set(), []
    for p in ups:                       # first transmissions only
        key = p.msg.cseq.seq if p.msg.cseq else None
        if key not in seen:
            seen.add(key)
            mine.append(p)
    plain = next((p for p in mine if sdp_of(p) is None), None)
    offers = [p for p in mine if sdp_of(p) is not None]
    if plain is None or not offers:
        raise_missing("our UPDATEs (without and with SDP)")
    for req, with_sdp in ((plain, False), (offers[0], True)):
        ans = _answer_to(a, req, spec.dut_in_ip)
        what = "an SDP offer" if with_sdp else "no SDP"
        want = f"200 to our UPDATE with {what} (frame {req.frame})" + (" carrying an SDP answer" if with_sdp else "")
        if ans is None or ans.msg.status != 200 or (with_sdp and sdp_of(ans) is None):
            seen_ = ("none" if ans is None else f"{ans.msg.status} {ans.msg.reason}" +
                     (" without SDP" if with_sdp and ans.msg.status == 200 else ""))
            out.append(violation("RFC3311-01", ["RFC3311-01", "SIG-06"], "R", want, seen_,
                                 ans.frame if ans else req.frame))
        else:
            out.append(passed("RFC3311-01", ["RFC3311-01", "SIG-06"], "R", want, ans.frame))
    theirs_up = next((p for p in a.requests("UPDATE") if p.src == spec.dut_in_ip and sdp_of(p) is not None), None)
    far_up = next((p for p in b.requests("UPDATE") if p.src == spec.callee_ip and sdp_of(p) is not None), None)
    if theirs_up is None:
        if far_up is None:
            raise_missing(f"our far end's UPDATE with an offer from {spec.callee_ip}")
        out.append(violation("RFC3311-01", ["RFC3311-01", "SIG-06"], "R", f"the far end's UPDATE with an offer "
                             f"(frame {far_up.frame}) passed on to us", "no UPDATE from the DUT", far_up.frame))
        return out
    crossing = next((p for p in offers if p.time > theirs_up.time), None)
    if crossing is None:
        raise_missing("our UPDATE crossing the DUT's offer")
    our_answer = next((p for p in a.responses("UPDATE") if p.src == spec.caller_ip and p.msg.cseq
                       and theirs_up.msg.cseq and p.msg.cseq.seq == theirs_up.msg.cseq.seq), None)
    if our_answer is not None and our_answer.time < crossing.time:
        raise_missing("our UPDATE sent while the DUT's offer was outstanding")
    ans = _answer_to(a, crossing, spec.dut_in_ip)
    want = (f"491 to our UPDATE with an offer (frame {crossing.frame}) sent while the DUT's UPDATE offer (frame "
            f"{theirs_up.frame}) was unanswered (RFC 3311 5.2)")
    if ans is None or ans.msg.status != 491:
        out.append(violation("RFC3311-01", "RFC3311-01", "R", want, f"{ans.msg.status} {ans.msg.reason}" if ans
                             else "no final response", ans.frame if ans else crossing.frame))
        return out
    far491 = next((p for p in b.responses("UPDATE") if p.src == spec.callee_ip and p.msg.status == 491
                   and p.time <= ans.time), None)
    how = f"relayed from the far end's 491 (frame {far491.frame})" if far491 else "the DUT's own"
    out.append(passed("RFC3311-01", "RFC3311-01", "R", f"{want}: {how}", ans.frame))
    out.extend(_cleared(a, b, spec, "caller", out))
    return out
