"""Checks of suite HLD: hold and resume by re-INVITE through the DUT (RFC 3264 sections 6.1 and 8.4).

The holder is always our caller (leg ``a``); the held party is our callee (leg ``b``). When Lync holds (TC-HLD-01,
-02, -04, -05) the DUT's answers to our re-INVITEs are judged: a hold with a=sendonly answered a=recvonly (or
inactive), a=inactive answered inactive, a resume with a=sendrecv answered sendrecv (a Lync hold answered sendrecv
makes Lync drop the call: HLD-01). When the far end holds (TC-HLD-03) the DUT's own re-INVITEs toward the Mediation
side are judged: the hold direction carried on, the o= version one higher than the DUT's previous SDP on that leg
(same session id). In both, RTP flows both ways on both legs after every resume, and the call survives to our BYE.

Re-INVITEs are matched by what our agent sent on its own leg (in order) and by time on the other leg, never by
Call-ID across legs, so a B2BUA with its own Call-ID, tags and CSeq passes the same way as a proxy.
"""

from __future__ import annotations

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .calls import _cleared
from .common import (CallSpec, Leg, answered_call, raise_missing, route, route_held, sdp_of, status_text,
                     stop_unless_explained)

#: the answer RFC 3264 section 6.1 allows to each offered direction
ANSWERS = {"sendonly": ("recvonly", "inactive"), "inactive": ("inactive",), "sendrecv": ("sendrecv",),
           "recvonly": ("sendonly", "inactive")}
#: what a party relaying an offer may put in its own offer for each received direction
RELAYED = {"sendonly": ("sendonly", "inactive"), "inactive": ("inactive",), "sendrecv": ("sendrecv",),
           "recvonly": ("recvonly", "inactive")}
MIN_RESUME_RTP = 10        # packets each way within a resume window (0.2 s of 20 ms packets)


def _dedup(packets: list[SipPacket]) -> list[SipPacket]:
    """First transmission of each request (UDP retransmissions share the CSeq)."""
    seen, out = set(), []
    for p in packets:
        key = (p.msg.cseq.seq if p.msg.cseq else None, p.msg.method)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def reinvites(leg: Leg, src: str) -> list[SipPacket]:
    """In-dialog INVITEs ``src`` sent on ``leg``, first transmissions, in order."""
    return _dedup([p for p in leg.requests("INVITE") if p.src == src and p.msg.to and p.msg.to.tag])


def _final(leg: Leg, request: SipPacket) -> SipPacket | None:
    seq = request.msg.cseq.seq if request.msg.cseq else None
    for p in leg.responses("INVITE"):
        if p.dst == request.src and p.time >= request.time and p.msg.status and p.msg.status >= 200 \
                and p.msg.cseq and p.msg.cseq.seq == seq:
            return p
    return None


def direction(p: SipPacket | None) -> str | None:
    sdp = sdp_of(p)
    return sdp.audio.direction if sdp is not None and sdp.audio is not None else None


def _hold_addr(p: SipPacket) -> str | None:
    sdp = sdp_of(p)
    conn = sdp.audio.effective_connection if sdp is not None and sdp.audio is not None else None
    return conn.address if conn is not None else None


def _what(d: str | None) -> str:
    return "hold" if d in ("sendonly", "inactive", "recvonly") else "resume"


def _answers(a: Leg, ours: list[SipPacket], spec: CallSpec, severity: str) -> list[Finding]:
    """The DUT's final response to each of our re-INVITEs: 2xx with an SDP answer in the RFC 3264 direction."""
    out = []
    for r in ours:
        d = direction(r)
        rule, reqs = ("HLD-01", ["HLD-01"]) if _what(d) == "hold" else ("HLD-02", ["HLD-02", "HLD-01"])
        f = _final(a, r)
        want = ANSWERS.get(d or "sendrecv", ("sendrecv",))
        label = f"the answer to our {_what(d)} re-INVITE a={d} (frame {r.frame})"
        if f is None or not 200 <= f.msg.status < 300:
            out.append(violation(rule, reqs, severity, f"200 OK to our {_what(d)} re-INVITE a={d} (frame {r.frame})",
                                 status_text(f), f.frame if f else r.frame))
            continue
        got = direction(f)
        if got is None:
            out.append(violation(rule, reqs + ["RFC3264-02"], severity, f"{label}: an SDP answer with a="
                                 f"{'/'.join(want)}", "no SDP in the 200", f.frame))
        elif got not in want:
            out.append(violation(rule, reqs, severity, f"{label}: a={' or a='.join(want)}", f"a={got}", f.frame))
        else:
            out.append(passed(rule, reqs, severity, f"{label}: a={got}", f.frame))
    return out


def _relayed(b: Leg, ours: list[SipPacket], spec: CallSpec, found: list[Finding]) -> list[Finding]:
    """HLD-03: for each of our re-INVITEs on the far leg, the DUT's re-INVITE toward the Mediation side (between ours
    and our next one) carries the direction on, its o= version one higher than the DUT's SDP before it on that leg,
    with the same o= username and session id."""
    out = []
    dut = reinvites(b, spec.dut_out_ip)
    prev = sdp_of(b.invite)
    prev_frame = b.invite.frame
    for i, r in enumerate(ours):
        d = direction(r)
        end = ours[i + 1].time if i + 1 < len(ours) else float("inf")
        mine = [p for p in dut if r.time <= p.time < end]
        if not mine:
            out.append(violation("HLD-03", ["HLD-03"], "M", f"a re-INVITE from the DUT to {spec.callee_ip} carrying "
                                 f"the far end's {_what(d)} (a={d}, frame {r.frame})", "none", r.frame))
            return out
        p = mine[0]
        got, sdp = direction(p), sdp_of(p)
        want = RELAYED.get(d or "sendrecv", ("sendrecv",))
        if got not in want:
            out.append(violation("HLD-03", ["HLD-03"], "M", f"the DUT's {_what(d)} re-INVITE to {spec.callee_ip} with "
                                 f"a={' or a='.join(want)} (the far end offered a={d}, frame {r.frame})",
                                 f"a={got}" if got else "no SDP", p.frame))
        else:
            out.append(passed("HLD-03", ["HLD-03"], "M", f"the DUT's {_what(d)} re-INVITE to {spec.callee_ip}: "
                              f"a={got}", p.frame))
        o, po = (sdp.origin if sdp else None), (prev.origin if prev else None)
        if o is None or po is None or o.sess_version is None or po.sess_version is None:
            out.append(violation("HLD-03", ["HLD-03", "RFC3264-04"], "M", f"an o= line in the DUT's re-INVITE (frame "
                                 f"{p.frame}) and in its SDP before it (frame {prev_frame})", "missing", p.frame))
        elif (o.username, o.sess_id) != (po.username, po.sess_id) or o.sess_version != po.sess_version + 1:
            out.append(violation("HLD-03", ["HLD-03", "RFC3264-04"], "M", f"o= {po.username} {po.sess_id} version "
                                 f"{po.sess_version + 1} (one higher than frame {prev_frame})",
                                 f"o= {o.username} {o.sess_id} version {o.sess_version}", p.frame))
        else:
            out.append(passed("HLD-03", ["HLD-03", "RFC3264-04"], "M", f"o= version {po.sess_version} -> "
                              f"{o.sess_version}, session {o.sess_id} kept", p.frame))
        if sdp is not None:
            prev, prev_frame = sdp, p.frame
        f = _final(b, p)     # our callee's answer may bump the version on its side, not the DUT's
        if f is None:
            stop_unless_explained(found + out, f"our callee's answer to the DUT's re-INVITE (frame {p.frame})")
    return out


def _media_addr(p: SipPacket | None) -> str | None:
    addr = _hold_addr(p) if p is not None else None
    return addr.split("/")[0] if addr else None


def _resume_media(trace: Trace, a: Leg, b: Leg, ours: list[SipPacket], spec: CallSpec, found: list[Finding],
                  bye_time: float) -> list[Finding]:
    """HLD-02: after every resume (our re-INVITE a=sendrecv answered), RTP both ways on both legs until the next hold
    or our BYE. Our own streams in the window are the stimulus (see :func:`.calls._media`); when one is missing
    because the DUT's latest SDP to that agent (its answer to our resume; its last offer on the callee's leg) sent
    it to an address that is not the DUT's (an in-dialog offer relayed without re-anchoring the media), that is the
    DUT's fault (MED-02)."""
    out = []
    resumes = [(i, r) for i, r in enumerate(ours) if direction(r) == "sendrecv"]
    for n, (i, r) in enumerate(resumes, 1):
        f = _final(a, r)
        if f is None or not 200 <= f.msg.status < 300:
            continue      # already a finding in _answers
        start = f.time + 0.1
        end = ours[i + 1].time if i + 1 < len(ours) else bye_time
        ours_ok = True
        offers_b = [p for p in b.messages if p.src == spec.dut_out_ip and sdp_of(p) is not None and p.time <= start]
        told = {"caller -> DUT": f, "callee -> DUT": offers_b[-1] if offers_b else None}
        for name, src, dst in (("caller -> DUT", spec.caller_ip, spec.dut_in_ip),
                               ("callee -> DUT", spec.callee_ip, spec.dut_out_ip)):
            sent = sum(s.packets_between(start, end) for s in trace.rtp if s.src == src and s.dst == dst)
            if sent >= MIN_RESUME_RTP:
                continue
            ours_ok = False
            sdp_msg = told[name]
            addr = _media_addr(sdp_msg)
            if addr and addr not in (spec.dut_in_ip, spec.dut_out_ip, "0.0.0.0", "::"):
                out.append(violation("MED-02", ["MED-02", "HLD-02"], "M", f"the DUT's SDP (frame {sdp_msg.frame}) "
                                     f"directing our {name} media after resume {n} to the DUT ({dst})",
                                     f"c={addr}: the media is not anchored through the DUT", sdp_msg.frame))
            else:
                stop_unless_explained(found + out, f"our RTP {name} after resume {n} ({sent} packets)")
        if not ours_ok:
            return out
        got = {}
        for name, src, dst in (("DUT -> caller", spec.dut_in_ip, spec.caller_ip),
                               ("DUT -> callee", spec.dut_out_ip, spec.callee_ip)):
            got[name] = sum(s.packets_between(start, end) for s in trace.rtp if s.src == src and s.dst == dst)
        bad = {k: v for k, v in got.items() if v < MIN_RESUME_RTP}
        if bad:
            out.append(violation("HLD-02", ["HLD-02", "MED-02"], "M", f"RTP both ways through the DUT after resume "
                                 f"{n} (at least {MIN_RESUME_RTP} packets each way in {end - start:.1f} s)",
                                 ", ".join(f"{k}: {v} packets" for k, v in got.items()), f.frame))
    if resumes and not any(x.rule == "HLD-02" and not x.ok and "RTP both ways" in x.message for x in out):
        out.append(passed("HLD-02", ["HLD-02", "MED-02"], "M", f"RTP both ways through the DUT after each of "
                          f"{len(resumes)} resume(s)", [_final(a, r).frame for _i, r in resumes if _final(a, r)]))
    return out


@check
def hold_resume(trace: Trace, *, spec: CallSpec, hold_dir: str, cycles: int, lync_holds: bool) -> list[Finding]:
    """TC-HLD-01/-02/-03/-05: see :func:`_hold_resume`."""
    return _hold_resume(trace, spec, hold_dir, cycles, lync_holds)


def _hold_resume(trace: Trace, spec: CallSpec, hold_dir: str, cycles: int, lync_holds: bool) -> list[Finding]:
    """TC-HLD-01/-02/-03/-05: our caller holds with a=``hold_dir`` and resumes, ``cycles`` times. ``lync_holds``:
    the caller is the Mediation side, the DUT's answers are judged (HLD-01, HLD-02); otherwise the caller is the far
    end and the DUT's re-INVITEs toward the Mediation side are judged (HLD-03), its answers to the far end only for
    a 2xx. Then RTP both ways after every resume and our BYE answered and relayed."""
    got = answered_call(trace, spec)
    if isinstance(got, list):
        return got
    ours_inv, a, theirs, b, ok_a, out = got
    ours = reinvites(a, spec.caller_ip)
    if lync_holds:
        out.extend(_answers(a, ours, spec, "M"))
    else:
        out.extend(_relayed(b, ours, spec, out))
        out.extend(f for f in _answers(a, ours, spec, "R") if not f.ok and "expected 200 OK" in f.message)
    if len(ours) < 2 * cycles:
        stop_unless_explained(out, f"our {2 * cycles} hold/resume re-INVITEs ({len(ours)} in the capture)")
        return out
    byes = [p for p in a.requests("BYE") if p.src == spec.caller_ip]
    out.extend(_resume_media(trace, a, b, ours, spec, out, byes[0].time if byes else trace_end(trace)))
    out.extend(_cleared(a, b, spec, "caller", out))
    return out


RTCP_MAX_GAP_S = 10.0     # RFC 3550 6.2: about 5 s, randomised to 1.5x; Lync drops a call after 30 s without RTCP


def _rtcp_times(trace: Trace, src: str, dst: str) -> list[float]:
    return sorted(t for f in trace.media.rtcp_flows if f.src == src and f.dst == dst for t in f.times)


@check
def hold_with_rtcp(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-HLD-04 (HLD-04, MED-05): Lync holds (one cycle) and resumes; on top of :func:`hold_resume`, RTCP from the
    DUT toward the Mediation side goes on while the call is held (from the DUT's answer to the hold until our
    resume): at least one compound and no silence longer than RTCP_MAX_GAP_S. The held far end sends RTCP all the
    while (the stimulus: an SBC relays it, a gateway sends its own); the call survives (our BYE answered)."""
    out = _hold_resume(trace, spec, "inactive", 1, True)
    if any(not f.ok for f in out):
        return out
    routed = route(trace, spec)
    _ours, a, _theirs, _b = routed
    ours = reinvites(a, spec.caller_ip)
    hold, resume = ours[0], ours[1]
    held = _final(a, hold)
    start, end = held.time, resume.time
    fed = [t for t in _rtcp_times(trace, spec.callee_ip, spec.dut_out_ip) if start <= t <= end]
    if not fed:
        stop_unless_explained(out, f"our far end's RTCP to the DUT during the hold ({end - start:.1f} s)")
        return out
    times = [t for t in _rtcp_times(trace, spec.dut_in_ip, spec.caller_ip) if start <= t <= end]
    edges = [start, *times, end]
    gap = max(b - a for a, b in zip(edges, edges[1:]))
    want = (f"RTCP from the DUT to {spec.caller_ip} while held ({end - start:.1f} s from frame {held.frame} to "
            f"frame {resume.frame}), never {RTCP_MAX_GAP_S:.0f} s without")
    if not times or gap > RTCP_MAX_GAP_S:
        out.append(violation("HLD-04", ["HLD-04", "MED-05"], "M", want, f"{len(times)} compound(s), {gap:.1f} s "
                             f"without RTCP (our far end sent {len(fed)} to the DUT meanwhile)", [held.frame,
                                                                                                  resume.frame]))
    else:
        out.append(passed("HLD-04", ["HLD-04", "MED-05"], "M", f"{want}: {len(times)} compounds, longest gap "
                          f"{gap:.1f} s", held.frame))
    return out


@check
def park_retrieve(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-HLD-06 (HLD-01): Lync parks the call (a re-INVITE a=sendonly, music on hold) and retrieves it with a
    re-INVITE a=sendrecv offering another media port (the retrieving endpoint's). On top of :func:`hold_resume`:
    after the retrieval the DUT sends its RTP toward the Mediation side to the new port (a DUT that keeps the old
    one leaves the retrieved call silent)."""
    out = _hold_resume(trace, spec, "sendonly", 1, True)
    if any(not f.ok for f in out):
        return out
    _ours, a, _theirs, _b = route(trace, spec)
    ours = reinvites(a, spec.caller_ip)
    first, retrieve = sdp_of(a.invite), sdp_of(ours[1])
    old = first.audio.port if first is not None and first.audio is not None else None
    new = retrieve.audio.port if retrieve is not None and retrieve.audio is not None else None
    if new is None or new == old:
        raise_missing(f"our retrieve re-INVITE offering a new media port (frame {ours[1].frame} offers {new})")
    answered = _final(a, ours[1])
    byes = [p for p in a.requests("BYE") if p.src == spec.caller_ip]
    start, end = answered.time + 0.1, byes[0].time if byes else trace_end(trace)
    streams = [s for s in trace.rtp if s.src == spec.dut_in_ip and s.dst == spec.caller_ip]
    to_new = sum(s.packets_between(start, end) for s in streams if s.dport == new)
    to_old = sum(s.packets_between(start, end) for s in streams if s.dport == old)
    want = (f"RTP from the DUT to the retrieved call's new port {spec.caller_ip}:{new} (offered in frame "
            f"{ours[1].frame}, was {old})")
    if to_new < MIN_RESUME_RTP:
        out.append(violation("HLD-06", ["HLD-01", "MED-02"], "M", want, f"{to_new} packets to port {new}, {to_old} "
                             f"to the old port {old} after the retrieval was answered", answered.frame))
    else:
        out.append(passed("HLD-06", ["HLD-01", "MED-02"], "M", f"{want}: {to_new} packets", answered.frame))
    return out


def trace_end(trace: Trace) -> float:
    return max((p.time for p in trace.sip), default=0.0)


@check
def legacy_hold(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-HLD-07 (RFC3264-05, informative): the far end holds the RFC 2543 way (c=0.0.0.0); whether the DUT passes
    c=0.0.0.0 on toward the Mediation side (flagged: RFC 3264 section 8.4 says use a=sendonly/inactive) or turns it
    into a direction attribute is recorded."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours_inv, a, theirs, b = routed
    out = [route_held(theirs, spec)]
    ours = reinvites(a, spec.caller_ip)
    holds = [r for r in ours if _what(direction(r)) == "hold"]
    if not holds:
        stop_unless_explained(out, "our c=0.0.0.0 hold re-INVITE")
        return out
    dut = reinvites(b, spec.dut_out_ip)
    mine = [p for p in dut if p.time >= holds[0].time]
    if not mine:
        return out + [violation("HLD-03", ["HLD-03"], "M", f"a re-INVITE from the DUT to {spec.callee_ip} carrying "
                                f"the far end's hold (frame {holds[0].frame})", "none", holds[0].frame)]
    p = mine[0]
    addr = (_hold_addr(p) or "").split("/")[0]
    if addr in ("0.0.0.0", "::"):
        out.append(violation("RFC3264-05", ["RFC3264-05"], "I", "a hold toward the Mediation side by a=sendonly/"
                             "inactive (RFC 3264 section 8.4), not the legacy c=0.0.0.0",
                             f"c={addr}, a={direction(p)}", p.frame))
    elif direction(p) not in RELAYED["sendonly"]:
        out.append(violation("HLD-03", ["HLD-03"], "M", f"the far end's c=0.0.0.0 hold carried on to the Mediation "
                             f"side as a=sendonly or a=inactive (frame {holds[0].frame})",
                             f"c={addr}, a={direction(p)}: the call is no longer on hold", p.frame))
    else:
        out.append(passed("RFC3264-05", ["RFC3264-05"], "I", f"the far end's c=0.0.0.0 hold reached the Mediation "
                          f"side as c={addr} a={direction(p)}", p.frame))
    return out
