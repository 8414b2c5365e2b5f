"""Checks of suite ROB: what the DUT did with crafted and torture SIP (:mod:`sipqual.torture`), and whether it
lived through it; and a Lync-style SDP offer (TC-ROB-05).

The torture check reads two things: the torture sender's record (:mod:`sipqual.rawsip`: each message with what came
back on its connection and the answer to the liveness probe that followed it; plain data passed to the check, so a
replay judges it again) and the capture, for the frames of the DUT's answers (by our Call-ID) and for what the DUT
relayed to its other side (by our marker). A torture message's own bytes may be beyond a capture dissector; the DUT's
answers never should be.
"""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import MARKER, CallSpec, raise_missing, route, status_text


def _outcome(expect, finals: list[int], may_drop: bool = False) -> tuple[bool, str]:
    """Whether the final statuses seen for one message meet its expectation, and how to say what was seen."""
    seen = ", ".join(map(str, finals)) if finals else "no answer"
    if expect == "tolerant":
        return True, seen
    if expect == "silent":
        return not finals, seen
    if expect == "process":
        return bool(finals) and 400 not in finals, seen
    if expect == "reject":
        return not any(200 <= s < 300 for s in finals), seen or "dropped"
    if not finals and may_drop:
        return True, "dropped (tolerated: the RFC calls the code ideal)"
    codes = tuple(expect)
    return bool(finals) and finals[-1] in codes, seen


def _want(expect) -> str:
    return {"silent": "no answer", "tolerant": "any outcome but a crash", "process": "an answer other than 400 (a valid message)",
            "reject": "400 (or another 4xx/5xx, or silence), never 2xx"}.get(expect) if isinstance(expect, str) \
        else " or ".join(map(str, expect))


@check
def torture_handled(trace: Trace, *, runs: list[dict], reqs: list[str], dut_ips: list[str],
                    dut_died: str | None = None) -> list[Finding]:
    """TC-ROB-01..04: every message of each run (a side of the DUT and a transport) got what a conforming element
    does with it (:mod:`sipqual.torture`: processed, rejected, the application-layer code, or silence), the DUT
    answered the liveness OPTIONS after every one, no relayed INVITE set up a dialog, and the DUT process lived.
    A DUT that died or stopped answering FAILs with the message that preceded it (saved as evidence). Each message is
    its own rule, ``RFC4475-<name>`` (``RFC3261-14`` for TC-ROB-04's), with the message's severity."""
    out: list[Finding] = []
    if not runs:
        raise_missing("the torture sender's record")
    dut = set(dut_ips)
    responses = [p for p in trace.sip if not p.msg.is_request and p.src in dut]
    relayed = [p for p in trace.sip if p.msg.is_request and p.src in dut and p.msg.get(MARKER)]
    for run in runs:
        where = f"{run['side']} side over {run['transport'].upper()}"
        if run.get("set") == "fuzz":
            where = f"fuzz, seed {run.get('seed')}, " + where
        log = run["log"]
        entries = {e["name"]: e for e in log.get("messages", [])}
        stopped = log.get("stopped") or ""
        bad_rows, good_rows, relayed_names = [], [], []
        for item in run["plan"]:
            e = entries.get(item["name"])
            if e is None:
                if "liveness probe" in stopped or dut_died:
                    break                    # judged below: the DUT stopped before this message
                raise_missing(f"torture message {item['name']} ({where}; sender: {stopped or 'not sent'})")
            if e.get("error") and e.get("probe"):
                raise_missing(f"torture message {item['name']} ({where}): the sender could not send it: {e['error']}")
            cid = item.get("call_id") or ""
            probe_cids = set(run.get("probe_call_ids") or [])
            mine = [r for r in e.get("responses", []) if r.get("status") and r.get("call_id") not in probe_cids
                    and (not cid or r.get("call_id") == cid)]
            finals = [r["status"] for r in mine if r["status"] >= 200]
            ok, seen = _outcome(item["expect"], finals, item.get("may_drop", False))
            frames = [p.frame for p in responses if cid and p.msg.call_id == cid and p.msg.status
                      and p.msg.status >= 200][:3]
            if item.get("marker") and any(p.msg.get(MARKER) == item["marker"] for p in relayed):
                relayed_names.append(item["name"])
            rule = (f"RFC4475-{item['name']}" if item["section"].startswith("3.") else
                    "ROB-FUZZ" if item["section"] == "fuzz" else "RFC3261-14")
            sev = item.get("severity", "R")
            if ok:
                good_rows.append((sev, f"{item['name']} {seen}"))
            else:
                bad_rows.append(violation(rule, reqs, sev, f"{_want(item['expect'])} [{where}]",
                                          f"{item['name']} ({item['what']}): {seen}", frames))
        out.extend(bad_rows)
        note = f"; relayed to the other side: {', '.join(relayed_names)}" if relayed_names else ""
        for sev in ("M", "R"):
            rows = [r for s_, r in good_rows if s_ == sev]
            if rows:
                out.append(passed(f"ROB-{'CORE' if sev == 'M' else 'SET'}", reqs, sev, f"{len(rows)} messages "
                                  f"handled as expected [{where}]: {'; '.join(rows)}{note}"))
        last = log["messages"][-1] if log.get("messages") else None
        culprit = f"{last['name']}" if last else "the first message"
        evidence = f" (input saved as {log['evidence']})" if log.get("evidence") else ""
        if "liveness probe" in stopped:
            out.append(violation("ROB-ALIVE", reqs, "M", f"an answer to the liveness OPTIONS after every message "
                                 f"[{where}]", f"none after {culprit}{evidence}: the DUT hung or died on it"))
        elif log.get("messages"):
            probes = [e["probe"]["ms"] for e in log["messages"] if e.get("probe")]
            out.append(passed("ROB-ALIVE", reqs, "M", f"the DUT answered the liveness OPTIONS after each of "
                              f"{len(probes)} messages [{where}] (slowest {max(probes)} ms)"))
    if dut_died:
        last_run = runs[-1]["log"]
        last = last_run["messages"][-1]["name"] if last_run.get("messages") else "the first message"
        out.append(violation("ROB-ALIVE", reqs, "M", "the DUT process alive after the torture set",
                             f"{dut_died} (last message sent: {last})"))
    # no dialog left behind: no INVITE the DUT relayed was answered 2xx (our agents never accept one)
    relayed_invites = [p for p in relayed if p.msg.method == "INVITE"]
    set_up = [p for p in trace.sip if not p.msg.is_request and p.msg.cseq_method == "INVITE" and p.msg.status
              and 200 <= p.msg.status < 300 and any(p.msg.call_id == q.msg.call_id for q in relayed_invites)]
    if set_up:
        out.append(violation("ROB-DIALOG", reqs, "M", "no dialog left by a torture INVITE",
                             "a relayed torture INVITE answered 2xx", [p.frame for p in set_up[:3]]))
    return out


LYNC_ATTRS = ("x-ssrc-range", "x-bandwidth", "x-devicecaps", "x-mediabw")


@check
def lync_sdp_accepted(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-ROB-05 (MED-02): an OUT call whose offer carries Lync's a=x- attributes and extra m= lines (video,
    application sharing) is routed and answered: the DUT sends the INVITE on with an SDP whose audio m= line survives
    (the unknown attributes may be kept or dropped), the call is answered 200 and ends with our BYE answered 200; the
    DUT's answer toward us keeps one m= line per offered one (RFC 3264 section 6)."""
    from .common import sdp_of

    reqs = ["MED-02"]
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, _b = routed
    out = [passed("CALL-ROUTE", reqs, "M", "DUT relayed the INVITE with Lync's SDP", theirs.frame)]
    offer = sdp_of(ours)
    if offer is None or len(offer.media) < 3:
        raise_missing("our Lync-style offer (3 m= lines)")
    fwd = sdp_of(theirs)
    audio = [m for m in (fwd.media if fwd else []) if m.kind == "audio" and m.port]
    if not audio:
        out.append(violation("MED-02", reqs, "M", "an audio m= line in the offer the DUT sent on",
                             "none" if fwd else "no SDP", theirs.frame))
    else:
        names = {n for m in fwd.media for n, _ in m.attributes}
        kept = [x for x in LYNC_ATTRS if x in names]
        out.append(passed("MED-02", reqs, "M", f"offer passed on with {len(fwd.media)} m= lines, audio on port "
                          f"{audio[0].port}" + (f"; a=x- attributes kept: {', '.join(kept)}" if kept else ""),
                          theirs.frame))
    answered = a.final(src=spec.dut_in_ip)
    if answered is None or answered.msg.status != 200:
        return out + [violation("MED-02", reqs, "M", "200 to the Lync-style offer", status_text(answered),
                                answered.frame if answered else None)]
    ans = sdp_of(answered)
    if ans is None or len(ans.media) != len(offer.media):
        out.append(violation("MED-02", reqs, "M", f"an answer with {len(offer.media)} m= lines (one per offered)",
                             f"{len(ans.media) if ans else 'no'} m= lines", answered.frame))
    else:
        out.append(passed("MED-02", reqs, "M", f"200 with {len(ans.media)} m= lines, "
                          f"{sum(1 for m in ans.media if m.port)} accepted", answered.frame))
    bye = next((p for p in a.requests("BYE") if p.src == spec.caller_ip), None)
    if bye is None:
        raise_missing("our BYE")
    ok = [p for p in a.responses("BYE") if p.src == spec.dut_in_ip and p.msg.status == 200]
    if not ok:
        out.append(violation("MED-02", reqs, "M", "200 to our BYE", "none", bye.frame))
    return out
