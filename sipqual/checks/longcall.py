"""Check of TC-BAS-13: the long call (40 minutes in the full profile, past one 1800 s session interval; quick: 100 s
past one 90 s interval).

What the capture must show: the DUT's 200 to our session-timer INVITE carries Session-Expires (RFC4028-03); the
session is kept refreshed on both legs (our caller refreshes every half interval: the DUT answers each refresh 2xx,
and the far leg is refreshed no later than half its interval + 10 s after the last refresh, whether the DUT relays
ours or sends its own); the call stays up until our BYE (no BYE from the DUT on either leg first), which the DUT
answers and carries on; RTP flows without a gap longer than :data:`MAX_MEDIA_GAP_S` in both directions on both legs
out of the DUT; RTCP from the DUT toward the Mediation side never stops for longer than
:data:`sipqual.checks.hld.RTCP_MAX_GAP_S` (MED-05). Our own agents' gaps are ours: a gap in what the DUT sends that
matches a gap in what our agent fed it on the other leg is not the DUT's fault (ERROR, not FAIL).
"""

from __future__ import annotations

import math

from ..recording import check
from ..rtp import TIME_BUCKET, RtpStream
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared
from .common import CallSpec, Leg, answered_call, raise_missing, status_text
from .hld import RTCP_MAX_GAP_S, _rtcp_times
from .st import REFRESH, REFRESH_SLACK, _in_dialog, _se_text, _timer_answer, session_expires

MAX_MEDIA_GAP_S = 1.0     # longest silence tolerated in a direction of a talking call (the brief's 1 s)
SETTLE_S = 1.0            # media is judged from this long after the 200 (both agents start on the ACK) ...
TAIL_S = 0.5              # ... to this long before our BYE


def _streams(trace: Trace, src: str, dst: str) -> list[RtpStream]:
    return [s for s in trace.rtp if s.src == src and s.dst == dst]


def _count(streams: list[RtpStream], start: float, end: float) -> int:
    return sum(s.packets_between(start, end) for s in streams)


def longest_gap(streams: list[RtpStream], start: float, end: float) -> tuple[float, float]:
    """(length, start time) of the longest stretch of ``start``..``end`` in which none of ``streams`` sent a packet,
    to :data:`sipqual.rtp.TIME_BUCKET`."""
    best, best_at, run_at = 0.0, start, None
    for k in range(max(0, math.ceil((end - start) / TIME_BUCKET))):
        t = start + k * TIME_BUCKET
        if _count(streams, t, t + TIME_BUCKET) == 0:
            run_at = t if run_at is None else run_at
            if t + TIME_BUCKET - run_at > best:
                best, best_at = t + TIME_BUCKET - run_at, run_at
        else:
            run_at = None
    return round(best, 3), best_at


def _direction(trace: Trace, what: str, out: tuple[str, str], fed: tuple[str, str], start: float, end: float,
               reqs: list[str], found: list[Finding]) -> Finding:
    """One direction of media out of the DUT (``out``: DUT address -> our agent) against what our agent on the
    other leg fed it (``fed``: our agent -> DUT address)."""
    streams, ours = _streams(trace, *out), _streams(trace, *fed)
    want = (f"RTP {what} ({out[0]} -> {out[1]}) for the whole call ({end - start:.0f} s), never more than "
            f"{MAX_MEDIA_GAP_S:g} s without a packet")
    gap, at = longest_gap(streams, start, end)
    if gap <= MAX_MEDIA_GAP_S:
        return passed("MEDIA-CONT", reqs, "M", f"{want}: {_count(streams, start, end)} packets, longest gap "
                      f"{gap:.1f} s", [s.first_frame for s in streams][:1] or None)
    sent = _count(ours, at, at + gap)
    own_gap, _ = longest_gap(ours, max(start, at - 1.0), min(end, at + gap + 1.0))
    if not ours or own_gap > MAX_MEDIA_GAP_S:
        # our own agent was silent too about then (or never sent): nothing the DUT could have relayed
        if not any(not f.ok for f in found):
            raise_missing(f"our agent's RTP ({fed[0]} -> {fed[1]}) during the {gap:.1f} s gap at "
                          f"+{at - start + SETTLE_S:.1f} s after the answer ({sent} packets)")
    frame = next((s.first_frame for s in streams), None)
    return violation("MEDIA-CONT", reqs, "M", want, f"{gap:.1f} s without RTP from +{at - start + SETTLE_S:.1f} s "
                     f"after the answer, while our agent sent {sent} packets to the DUT meanwhile", frame)


def _refreshes(a: Leg, b: Leg, ok: SipPacket, b_ok: SipPacket, spec: CallSpec, end: float,
               interval: int) -> list[Finding]:
    """RFC4028-04 across the call: the DUT answers each of our refreshes 2xx; the far leg is refreshed (relayed or
    by the DUT) no later than half the far leg's interval + 10 s after its 200 or its previous refresh, up to our
    BYE."""
    out = []
    ours = _in_dialog(a, spec.caller_ip, ok.time, REFRESH)
    if not ours:
        raise_missing("our caller's session refresh (UPDATE)")
    for p in ours:
        seq = p.msg.cseq.seq if p.msg.cseq else None
        ans = next((r for r in a.responses(p.msg.method) if r.src == spec.dut_in_ip and r.msg.status >= 200
                    and r.msg.cseq and r.msg.cseq.seq == seq), None)
        if ans is None or ans.msg.status >= 300:
            out.append(violation("RFC4028-04", ["RFC4028-04"], "M", f"a 2xx from the DUT to our refresh "
                                 f"({p.msg.method}, frame {p.frame}, {_se_text(p)})", status_text(ans),
                                 ans.frame if ans else p.frame))
            return out
    b_se = session_expires(b_ok) or session_expires(b.invite)
    far_interval = b_se[0] if b_se and b_se[0] else interval
    due = far_interval / 2 + REFRESH_SLACK
    theirs = _in_dialog(b, spec.dut_out_ip, b_ok.time, REFRESH)
    last = b_ok
    for p in [*theirs, None]:
        at = p.time if p is not None else end
        if at - last.time > due:
            what = f"first refresh at +{at - last.time:.1f} s" if p is not None else \
                f"none until our BYE, +{end - last.time:.1f} s"
            out.append(violation("RFC4028-04", ["RFC4028-04", "TRN-01"], "M", f"the far leg's session refreshed "
                                 f"(re-INVITE or UPDATE from the DUT to {spec.callee_ip}) within {far_interval}/2 + "
                                 f"{REFRESH_SLACK:.0f} s of frame {last.frame} (our caller refreshed its leg every "
                                 f"{interval / 2:g} s)", what, last.frame))
            return out
        if p is None:
            break
        last = p
    out.append(passed("RFC4028-04", ["RFC4028-04"], "M", f"{len(ours)} refresh(es) of ours answered 2xx by the DUT; "
                      f"the far leg refreshed {len(theirs)} time(s), never more than {due:g} s apart",
                      [ours[0].frame, *(t.frame for t in theirs[:1])]))
    return out


@check
def long_call(trace: Trace, *, spec: CallSpec, duration: float) -> list[Finding]:
    """TC-BAS-13 (MED-05, RFC4028-03/04): an OUT call with a session timer (refresher=uac, our caller refreshing
    every half interval) lasting ``duration`` s, past one session interval, with RTP and RTCP from both our agents
    all along. See the module docstring for what must show."""
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours, a, theirs, b, ok, out = got
    b_ok = b.final(src=spec.callee_ip)
    if b_ok is None or b_ok.msg.status != 200:
        raise_missing(f"our far end's 200 OK from {spec.callee_ip}")
    if session_expires(ok) is None:     # a DUT without RFC 4028 may leave it out; our refreshes keep the call
        asked = session_expires(ours)
        if asked is None or asked[0] is None:
            raise_missing(f"Session-Expires in our INVITE (frame {ours.frame})")
        interval = asked[0]
        out.append(passed("RFC4028-03", ["RFC4028-03"], "I", f"no Session-Expires in the DUT's 200: it takes no part "
                          f"in our session timer ({_se_text(ours)}), which our refreshes keep", ok.frame))
    else:
        found, (interval, _refresher) = _timer_answer(ok, ours, "uac", "the DUT")
        out.extend(found)
        if interval is None:
            return out
    our_byes = [p for p in a.requests("BYE") if p.src == spec.caller_ip]
    dut_byes = sorted([p for p in a.requests("BYE") if p.src == spec.dut_in_ip] +
                      [p for p in b.requests("BYE") if p.src == spec.dut_out_ip and p.dst == spec.callee_ip
                       and (not our_byes or p.time < our_byes[0].time)], key=lambda p: p.time)
    if dut_byes and (not our_byes or dut_byes[0].time < our_byes[0].time):
        first = dut_byes[0]
        out.append(violation("CALL-UP", ["RFC4028-04", "RFC3261-14"], "M", f"the call to stay up {duration:g} s, "
                             f"until our BYE (past the {interval} s session interval: the refreshes keep it)",
                             f"a BYE from the DUT to {first.dst} at +{first.time - ok.time:.1f} s", first.frame))
        return out
    if not our_byes:
        raise_missing("our caller's BYE")
    bye = our_byes[0]
    lasted = bye.time - ok.time
    if lasted < interval:
        raise_missing(f"a call lasting past the session interval ({interval} s; our BYE came at +{lasted:.0f} s)")
    out.append(passed("CALL-UP", ["RFC4028-04", "RFC3261-14"], "M", f"the call stayed up {lasted:.0f} s until our "
                      f"BYE, past the {interval} s session interval", bye.frame))
    out.extend(_refreshes(a, b, ok, b_ok, spec, bye.time, interval))
    start, end = max(ok.time, b_ok.time) + SETTLE_S, bye.time - TAIL_S
    media = [("to the Mediation side", (spec.dut_in_ip, spec.caller_ip), (spec.callee_ip, spec.dut_out_ip)),
             ("to the far end", (spec.dut_out_ip, spec.callee_ip), (spec.caller_ip, spec.dut_in_ip))]
    for what, dut_out, fed in media:
        out.append(_direction(trace, what, dut_out, fed, start, end, ["MED-02"], out))
    out.append(_rtcp(trace, spec, start, end, out))
    out.extend(_cleared(a, b, spec, "caller", out))
    return out


def _rtcp(trace: Trace, spec: CallSpec, start: float, end: float, found: list[Finding]) -> Finding:
    """MED-05: RTCP from the DUT to the Mediation side all call long, never RTCP_MAX_GAP_S without; our far end sent
    RTCP every second meanwhile (an SBC relays it, a gateway sends its own)."""
    fed = [t for t in _rtcp_times(trace, spec.callee_ip, spec.dut_out_ip) if start <= t <= end]
    fed_gap = max((b - a for a, b in zip([start, *fed], [*fed, end])), default=end - start)
    times = [t for t in _rtcp_times(trace, spec.dut_in_ip, spec.caller_ip) if start <= t <= end]
    edges = [start, *times, end]
    gap, at = max(((b - a), a) for a, b in zip(edges, edges[1:]))
    want = (f"RTCP from the DUT to {spec.caller_ip} all call long ({end - start:.0f} s), never "
            f"{RTCP_MAX_GAP_S:.0f} s without")
    if times and gap <= RTCP_MAX_GAP_S:
        return passed("MED-05", ["MED-05"], "M", f"{want}: {len(times)} compounds, longest gap {gap:.1f} s")
    if fed_gap > RTCP_MAX_GAP_S and not any(not f.ok for f in found):
        raise_missing(f"our far end's RTCP to the DUT all call long (it paused {fed_gap:.1f} s)")
    return violation("MED-05", ["MED-05"], "M", want, f"{len(times)} compound(s), {gap:.1f} s without RTCP from "
                     f"+{at - start + SETTLE_S:.1f} s after the answer (our far end sent {len(fed)} to the DUT "
                     "meanwhile)")
