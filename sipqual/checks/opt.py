"""Checks of suite OPT: health probing between the Mediation Server and the DUT."""

from __future__ import annotations

import statistics

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, raise_missing, route, status_text, stimulus, stop_unless_explained

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


def _ping_defects(m) -> list[str]:
    """What makes an out-of-dialog OPTIONS ping malformed (RFC 3261 section 8.1.1)."""
    bad = []
    mf = (m.get("Max-Forwards") or "").strip()
    if not mf.isdigit():
        bad.append(f"Max-Forwards {mf or 'missing'}")
    vias = m.vias
    if not vias or not vias[0].has_magic_cookie:
        bad.append("top Via without a z9hG4bK branch" if vias else "no Via")
    if m.from_ is None or not m.from_.tag:
        bad.append("From without a tag")
    cseq = m.cseq
    if cseq is None or cseq.method != "OPTIONS":
        bad.append(f"CSeq {m.get('CSeq') or 'missing'}")
    if not m.call_id:
        bad.append("no Call-ID")
    return bad


@check
def options_pings(trace: Trace, *, dut_ip: str, ms_ip: str, ms_port: int) -> list[Finding]:
    """TC-OPT-03 (OPT-03): the DUT pings the Mediation port with out-of-dialog OPTIONS; each is well formed
    (Max-Forwards, a z9hG4bK Via branch, a From tag, CSeq OPTIONS, a Call-ID); the interval between them is
    recorded."""
    pings = [p for p in trace.requests("OPTIONS") if p.src == dut_ip and p.dst == ms_ip and p.dport == ms_port
             and not (p.msg.to and p.msg.to.tag)]
    if not pings:
        return [violation("OPT-03", "OPT-03", "R", f"out-of-dialog OPTIONS from the DUT to {ms_ip}:{ms_port} "
                          "(the profile claims options_ping)", "none in the case's window")]
    out = []
    for p in pings:
        bad = _ping_defects(p.msg)
        if bad:
            out.append(violation("OPT-03", "OPT-03", "R", "a well-formed OPTIONS ping", "; ".join(bad), p.frame))
    # retransmissions (same Call-ID and CSeq) are not pings of their own
    firsts, seen = [], set()
    for p in pings:
        key = (p.msg.call_id, p.msg.get("CSeq"))
        if key not in seen:
            seen.add(key)
            firsts.append(p)
    gaps = [b.time - a.time for a, b in zip(firsts, firsts[1:])]
    interval = (f"interval median {statistics.median(gaps):.1f} s, range {min(gaps):.1f}-{max(gaps):.1f} s over "
                f"{len(firsts)} pings" if gaps else "one ping in the window, interval not measured")
    if not any(not f.ok for f in out):
        m = firsts[0].msg
        out.append(passed("OPT-03", "OPT-03", "R", f"DUT pinged {ms_ip}:{ms_port} with well-formed OPTIONS "
                          f"({interval}; Max-Forwards {m.get('Max-Forwards')}, R-URI {m.ruri})",
                          [p.frame for p in firsts]))
    return out


def _finals(trace: Trace, request, src: str):
    return [p for p in trace.sip if not p.msg.is_request and p.src == src and p.msg.call_id == request.msg.call_id
            and p.msg.cseq_method == request.msg.method and p.msg.status and p.msg.status >= 200
            and p.time >= request.time]


@check
def options_in_dialog(trace: Trace, *, spec: CallSpec, mf0_id: str) -> list[Finding]:
    """TC-OPT-05 (OPT-02): an in-dialog OPTIONS from the caller during an established call gets a final response
    (any: 200 from the far end, or the DUT's own) and the call goes on (our BYE afterwards answered 200, no BYE from
    the DUT before it); an out-of-dialog OPTIONS with Max-Forwards 0 addressed to the DUT is answered 483 or 200,
    never forwarded, never left unanswered."""
    reqs = ["OPT-02"]
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, _theirs, _b = routed
    out = [passed("CALL-ROUTE", ["TRN-01"], "M", "DUT relayed the call", _theirs.frame)]
    opt = next((p for p in a.requests("OPTIONS") if p.src == spec.caller_ip and p.msg.to and p.msg.to.tag), None)
    if opt is None:
        answered = a.final(src=spec.dut_in_ip)
        if answered is None or answered.msg.status != 200:
            return out + [violation("CALL-UP", ["TRN-01"], "M", f"a 200 to our INVITE (frame {ours.frame}) so the "
                                    "call is up for an in-dialog OPTIONS", status_text(answered),
                                    answered.frame if answered else None)]
        raise_missing("our in-dialog OPTIONS")
    finals = _finals(trace, opt, spec.dut_in_ip)
    if not finals:
        out.append(violation("OPT-02", reqs, "R", f"a final response to our in-dialog OPTIONS (frame {opt.frame})",
                             "none"))
    else:
        f = finals[0]
        out.append(passed("OPT-02", reqs, "R", f"in-dialog OPTIONS answered {f.msg.status} {f.msg.reason} after "
                          f"{1000 * (f.time - opt.time):.0f} ms", f.frame))
    dut_bye = [p for p in a.requests("BYE") if p.src == spec.dut_in_ip]
    bye = next((p for p in a.requests("BYE") if p.src == spec.caller_ip), None)
    if dut_bye and (bye is None or dut_bye[0].time < bye.time):
        out.append(violation("OPT-02", reqs, "R", "the call to go on after the in-dialog OPTIONS",
                             "the DUT sent BYE", dut_bye[0].frame))
    elif bye is None:
        stop_unless_explained(out, "our BYE after the in-dialog OPTIONS")
    else:
        done = _finals(trace, bye, spec.dut_in_ip)
        if not done or done[0].msg.status != 200:
            out.append(violation("OPT-02", reqs, "R", f"200 to our BYE (frame {bye.frame}) after the in-dialog "
                                 "OPTIONS: the call still up", status_text(done[0] if done else None),
                                 done[0].frame if done else None))
        else:
            out.append(passed("OPT-02", reqs, "R", "call still up after the in-dialog OPTIONS: BYE answered 200",
                              done[0].frame))
    mf0 = stimulus(trace, "OPTIONS", mf0_id, spec.caller_ip)
    if mf0 is None:
        raise_missing("our OPTIONS with Max-Forwards 0")
    forwarded = [p for p in trace.requests("OPTIONS") if p.src in (spec.dut_in_ip, spec.dut_out_ip)
                 and p.dst != spec.caller_ip and mf0.time <= p.time <= mf0.time + 5]
    if forwarded:
        out.append(violation("OPT-02", reqs, "R", f"the OPTIONS with Max-Forwards 0 (frame {mf0.frame}) answered, "
                             "not forwarded", f"the DUT sent OPTIONS on to {forwarded[0].dst} with Max-Forwards "
                             f"{forwarded[0].msg.get('Max-Forwards')}", forwarded[0].frame))
    finals = _finals(trace, mf0, spec.dut_in_ip)
    if not finals:
        out.append(violation("OPT-02", reqs, "R", f"483 or 200 to our OPTIONS with Max-Forwards 0 (frame "
                             f"{mf0.frame})", "no response"))
    elif finals[0].msg.status not in (200, 483):
        out.append(violation("OPT-02", reqs, "R", f"483 or 200 to our OPTIONS with Max-Forwards 0 (frame "
                             f"{mf0.frame})", status_text(finals[0]), finals[0].frame))
    else:
        out.append(passed("OPT-02", reqs, "R", f"OPTIONS with Max-Forwards 0 answered {status_text(finals[0])}",
                          finals[0].frame))
    return out


def _answer(trace: Trace, marker: str, method: str, our_ip: str, dut_ip: str, what: str):
    """Our request with ``marker`` and the DUT's first final response to it (None when it never answered)."""
    request = stimulus(trace, method, marker, our_ip)
    if request is None:
        raise_missing(what)
    finals = _finals(trace, request, dut_ip)
    return request, (finals[0] if finals else None)


@check
def options_like_invite(trace: Trace, *, our_ip: str, dut_ip: str, ids: dict, dut_far_ip: str = "",
                        far_ip: str = "") -> list[Finding]:
    """TC-OPT-02 (OPT-02, RFC 3261 section 11.2: an OPTIONS gets the status an INVITE would get). While the DUT's far
    side is down (our far agent not running) the DUT's answer to an OPTIONS must carry the same status code as its
    answer to the INVITE just before (e.g. 503 both): a device answering 200 to OPTIONS while refusing calls keeps
    Lync routing calls to a dead trunk. Once the far side is back (our far agent answers) the two answers must agree
    again as to success (2xx to both, or neither), so the OPTIONS answer tracks the far side rather than being a
    constant. ``ids``: the markers of the four requests (:func:`sipqual.flows.opt.far_down_ids`)."""
    reqs = ["OPT-02"]
    out = []
    inv, inv_final = _answer(trace, ids["invite_down"], "INVITE", our_ip, dut_ip, "our INVITE while the far side "
                             "was down")
    if dut_far_ip and far_ip:
        sent_on = [p for p in trace.requests("INVITE") if p.src == dut_far_ip and p.dst == far_ip
                   and inv.time <= p.time <= inv.time + 40]
        note = (f"the DUT tried the far side (INVITE frame {sent_on[0].frame}, {len(sent_on)} sent, none answered)"
                if sent_on else "the DUT did not try the far side")
    else:
        note = ""
    if inv_final is None:
        return [violation("OPT-02", reqs, "R", f"a final response to our INVITE (frame {inv.frame}) while the far "
                          "side is down, to compare the OPTIONS answer with", "none", inv.frame)]
    out.append(passed("OPT-02", reqs, "R", f"INVITE while the far side is down answered {status_text(inv_final)} "
                      f"after {inv_final.time - inv.time:.1f} s" + (f"; {note}" if note else ""), inv_final.frame))
    opt, opt_final = _answer(trace, ids["options_down"], "OPTIONS", our_ip, dut_ip, "our OPTIONS while the far "
                             "side was down")
    want = (f"{inv_final.msg.status} to OPTIONS (frame {opt.frame}), the status the INVITE got while the far side "
            f"is down (frame {inv_final.frame})")
    if opt_final is None:
        out.append(violation("OPT-02", reqs, "R", want, "no response", opt.frame))
    elif opt_final.msg.status != inv_final.msg.status:
        out.append(violation("OPT-02", reqs, "R", want, status_text(opt_final), opt_final.frame))
    else:
        out.append(passed("OPT-02", reqs, "R", f"OPTIONS while the far side is down answered "
                          f"{status_text(opt_final)}, as the INVITE", opt_final.frame))
    inv2, inv2_final = _answer(trace, ids["invite_up"], "INVITE", our_ip, dut_ip, "our INVITE once the far side "
                               "was back")
    opt2, opt2_final = _answer(trace, ids["options_up"], "OPTIONS", our_ip, dut_ip, "our OPTIONS once the far "
                               "side was back")
    if inv2_final is None:
        stop_unless_explained(out, "a final response to our INVITE once the far side was back")
        return out
    ok = lambda p: p is not None and 200 <= p.msg.status < 300  # noqa: E731
    want = (f"{'a 2xx' if ok(inv2_final) else 'no 2xx'} to OPTIONS (frame {opt2.frame}) once the far side is back, "
            f"as the INVITE got {status_text(inv2_final)} (frame {inv2_final.frame})")
    if opt2_final is None or ok(opt2_final) != ok(inv2_final):
        out.append(violation("OPT-02", reqs, "R", want, status_text(opt2_final) if opt2_final else "no response",
                             opt2_final.frame if opt2_final else opt2.frame))
    else:
        out.append(passed("OPT-02", reqs, "R", f"once the far side is back: INVITE {status_text(inv2_final)}, "
                          f"OPTIONS {status_text(opt2_final)}", opt2_final.frame))
    return out
