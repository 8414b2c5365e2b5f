"""Checks of suite EM: early media (183 with SDP and RTP before the answer, RFC 3960), DTMF and ringing during early
media, forked early dialogs (several 183s with different To tags, one 200) and early media ended by a CANCEL.

The boundary of "early" is the DUT's final response on the caller's leg (its 200, or the 487 after a CANCEL). RTP is
kept per stream (first and last packet), not per packet, so a stream counts as early media on a leg when its first
packet came at least :data:`EARLY_MIN_S` before that boundary (about 20 packets of 20 ms); the finding quotes the
stream's first frame and how long before the boundary it started.
"""

from __future__ import annotations

from ..recording import check
from ..rtp import RtpStream
from ..sdp import Sdp
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, Leg, raise_missing, route, sdp_of

EARLY_MIN_S = 0.4


def _provisional(leg: Leg, src: str, with_sdp: bool | None = None) -> list[SipPacket]:
    """18x responses to the INVITE on ``leg`` sent by ``src`` (only those with, or without, SDP when asked)."""
    return [p for p in leg.responses() if p.src == src and p.msg.status and 180 <= p.msg.status < 200
            and (with_sdp is None or (sdp_of(p) is not None) == with_sdp)]


def _to_tag(p: SipPacket) -> str | None:
    return p.msg.to.tag if p.msg.to is not None else None


def _listing(ps: list[SipPacket]) -> str:
    return ", ".join(f"{p.msg.status}{' with SDP' if sdp_of(p) else ' without SDP'} (frame {p.frame})"
                     for p in ps[:6]) or "no 18x"


def _early_streams(trace: Trace, src: str, dst: str, before: float) -> list[RtpStream]:
    return [s for s in trace.rtp if s.src == src and s.dst == dst and s.first_time <= before - EARLY_MIN_S]


def _boundary(a: Leg, spec: CallSpec) -> tuple[float, str]:
    """The end of early media on the caller's leg: the DUT's final response to the caller, else the capture's end."""
    final = a.final(src=spec.dut_in_ip)
    if final is not None:
        return final.time, f"the DUT's {final.msg.status} to the caller (frame {final.frame})"
    return (a.messages[-1].time if a.messages else a.invite.time) + 3600, "the end of the call"


def _origin(s: Sdp) -> str:
    o = s.origin
    return f"o={o.username} {o.sess_id} {o.sess_version}" if o is not None else "no o= line"


def _media_target(s: Sdp) -> tuple[str | None, int | None, tuple[str, ...]]:
    a = s.audio
    if a is None:
        return None, None, ()
    conn = a.effective_connection
    return (conn.address if conn is not None else None), a.port, tuple(a.formats)


def same_answer(early: SipPacket, answer: SipPacket, rule: str = "RFC3960-01") -> Finding:
    """RFC3960-01 (with RFC 3261 13.2.1 and RFC 3264 section 8): the SDP in the 200 is the one already sent in the
    183 of the same dialog: same o= line (session id and version) and the same audio address, port and formats. A
    caller that played the 183's media treats that SDP as the answer and ignores any other in the 200 (RFC 3261
    13.2.1), so a 200 that moves the media, or announces a new version, leaves it sending to the old address."""
    e, f = sdp_of(early), sdp_of(answer)
    want = (f"the 200's SDP (frame {answer.frame}) equal to the SDP of the {early.msg.status} in the same dialog "
            f"(frame {early.frame}): same o= version, address, port and formats")
    if f is None:
        return violation(rule, [rule, "SIG-03"], "M", want, "a 200 without SDP", answer.frame)
    ew, fw = (_origin(e), _media_target(e)), (_origin(f), _media_target(f))
    if (e.origin and f.origin and (e.origin.sess_id, e.origin.sess_version) != (f.origin.sess_id,
                                                                               f.origin.sess_version)) \
            or ew[1] != fw[1]:
        def show(s: Sdp) -> str:
            addr, port, fmts = _media_target(s)
            return f"{_origin(s)}, c={addr} m=audio {port} {' '.join(fmts)}"
        return violation(rule, [rule, "SIG-03"], "M", want, f"183: {show(e)}; 200: {show(f)}",
                         [early.frame, answer.frame])
    return passed(rule, [rule, "SIG-03"], "M", f"the 200 repeats the {early.msg.status}'s SDP ({_origin(f)}, "
                  f"c={fw[1][0]} port {fw[1][1]})", [early.frame, answer.frame])


@check
def early_media(trace: Trace, *, spec: CallSpec, answered: bool = True) -> list[Finding]:
    """TC-EM-01/-07 (SIG-03, RFC3960-01): the callee (our agent) answers the DUT's INVITE with a 183 with SDP and
    streams RTP before its 200 (the stimulus). The DUT must pass the early dialog on to the caller as an 18x with
    SDP and relay the RTP to the caller before its final response there (the caller then plays the announcement
    instead of local ringback, RFC 3960's gateway model). When ``answered``, the DUT's 200 to the caller carries
    the same SDP as its 183 of that dialog (:func:`same_answer`); the rest of the call (answer relayed, ACK, media,
    BYE) is :func:`sipqual.checks.calls.basic_call`'s."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    out: list[Finding] = []
    stim = _provisional(b, spec.callee_ip, with_sdp=True)
    if not stim:
        raise_missing(f"our 183 with SDP from {spec.callee_ip}")
    ok_b = b.final(src=spec.callee_ip)
    our_rtp = _early_streams(trace, spec.callee_ip, spec.dut_out_ip, ok_b.time if ok_b else float("inf"))
    dut_early = _provisional(a, spec.dut_in_ip, with_sdp=True)
    want = f"an 18x with SDP to the caller for the callee's {stim[0].msg.status} with SDP (frame {stim[0].frame})"
    if not dut_early:
        sent = _provisional(a, spec.dut_in_ip)
        return out + [violation("SIG-03", ["SIG-03", "RFC3960-01"], "M", want, _listing(sent),
                                [stim[0].frame] + [p.frame for p in sent[:3]])]
    out.append(passed("SIG-03", ["SIG-03", "RFC3960-01"], "M", f"{dut_early[0].msg.status} with SDP to the caller "
                      f"({sdp_of(dut_early[0]).audio.codec_names() if sdp_of(dut_early[0]).audio else 'no audio'})",
                      dut_early[0].frame))
    if not our_rtp:
        raise_missing(f"our early media (RTP from {spec.callee_ip} before its final response)")
    end, end_text = _boundary(a, spec)
    relayed = _early_streams(trace, spec.dut_in_ip, spec.caller_ip, end)
    first = our_rtp[0]
    want = (f"RTP from the DUT to the caller starting at least {EARLY_MIN_S:g} s before {end_text}, relaying the "
            f"callee's early media (from frame {first.first_frame})")
    if not relayed:
        late = [s for s in trace.rtp if s.src == spec.dut_in_ip and s.dst == spec.caller_ip]
        lead = end - late[0].first_time if late else 0.0
        seen = (f"the first RTP at frame {late[0].first_frame}, " + (f"only {lead:.2f} s before it" if lead >= 0 else
                f"{-lead:.2f} s after it") if late else "no RTP from the DUT to the caller")
        out.append(violation("RFC3960-01", ["RFC3960-01", "SIG-03"], "M", want, seen,
                             [first.first_frame] + ([late[0].first_frame] if late else [])))
    else:
        s = relayed[0]
        out.append(passed("RFC3960-01", ["RFC3960-01", "SIG-03"], "M", f"early media to the caller: RTP from frame "
                          f"{s.first_frame}, {end - s.first_time:.2f} s before {end_text}", s.first_frame))
    if answered:
        ok_a = a.final(src=spec.dut_in_ip)
        if ok_a is None or ok_a.msg.status != 200:
            return out          # the answer itself is basic_call's (CALL-ANSWER)
        same = [p for p in dut_early if _to_tag(p) == _to_tag(ok_a)]
        out.append(same_answer(same[-1], ok_a) if same else violation(
            "RFC3960-01", ["RFC3960-01", "SIG-03"], "M", f"the 200 (frame {ok_a.frame}) in the dialog of the DUT's "
            f"183 with SDP (To tag {_to_tag(dut_early[0])})", f"To tag {_to_tag(ok_a)}", ok_a.frame))
    return out


def _tags(ps: list[SipPacket]) -> list[str]:
    """The distinct To tags of ``ps``, in order of appearance."""
    out: list[str] = []
    for p in ps:
        t = _to_tag(p)
        if t and t not in out:
            out.append(t)
    return out


@check
def forked_early_dialogs(trace: Trace, *, spec: CallSpec, forks: int) -> list[Finding]:
    """TC-EM-04/-05 (SIG-04, BYP-01): the callee (our agent, like Lync's simultaneous ring) answers the DUT's INVITE
    with ``forks`` early dialogs (183 with SDP, each its own To tag and media port), then 200 on one of them. The
    DUT must keep the early dialogs apart:

    - a DUT that passes the callee's To tags through to the caller (a proxy) passes every fork's 183 on under its
      own tag (RFC 3261 16.7: provisional responses are forwarded); a B2BUA may present the caller fewer early
      dialogs of its own (recorded);
    - its ACK for the 200 is in the answering fork's dialog (the 200's To tag), never another fork's, and no other
      request (PRACK, UPDATE, ACK) goes into a fork that was not answered after the 200;
    - after the 200 its RTP goes to the answering fork's SDP, not to another fork's (a DUT that collapsed the forks
      into one early dialog keeps sending where the first 183 pointed).

    The call itself (answer relayed, RTP both ways, BYE) is :func:`sipqual.checks.calls.basic_call`."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    out: list[Finding] = []
    early = _provisional(b, spec.callee_ip, with_sdp=True)
    tags = _tags(early)
    if len(tags) < forks:
        raise_missing(f"our {forks} forked 183s with SDP from {spec.callee_ip} (the capture shows {len(tags)})")
    ok_b = b.final(src=spec.callee_ip)
    if ok_b is None or ok_b.msg.status != 200:
        raise_missing(f"our 200 on one of the forks from {spec.callee_ip}")
    won = _to_tag(ok_b)
    first = {t: next(p for p in early if _to_tag(p) == t) for t in tags}
    # the early dialogs as the caller sees them
    dut_early = _provisional(a, spec.dut_in_ip)
    caller_tags = _tags(dut_early)
    if set(caller_tags) & set(tags):
        missing = [t for t in tags if t not in caller_tags]
        want = (f"each of the callee's {forks} early dialogs passed on to the caller under its own To tag (the DUT "
                f"passes the callee's tags through)")
        if missing:
            out.append(violation("SIG-04", ["SIG-04", "BYP-01"], "M", want, f"{len(caller_tags)} of them; the 183 "
                                 f"of fork(s) {', '.join(missing[:5])} never reached the caller",
                                 [first[t].frame for t in missing[:5]]))
        else:
            out.append(passed("SIG-04", ["SIG-04", "BYP-01"], "M", f"all {forks} early dialogs passed on to the "
                              f"caller under their own To tags", [p.frame for p in dut_early[:3]]))
    else:
        out.append(passed("SIG-04", ["SIG-04", "BYP-01"], "I", f"the DUT presents the caller {len(caller_tags)} "
                          f"early dialog(s) under its own tags for the callee's {forks} (a B2BUA may merge forks; "
                          f"judged by its ACK and media on the callee's leg)", [p.frame for p in dut_early[:3]]))
    # the ACK, and nothing else, in the answering fork's dialog
    after = [p for p in b.messages if p.msg.is_request and p.src == spec.dut_out_ip and p.time >= ok_b.time
             and p.msg.method in ("ACK", "PRACK", "UPDATE", "INFO") and _to_tag(p) != won]
    want = f"the DUT's ACK for the 200 (frame {ok_b.frame}) in the answering fork's dialog (To tag {won})"
    if after:
        out.append(violation("SIG-04", ["SIG-04", "BYP-01", "RFC3261-10"], "M", want, ", ".join(
            f"{p.msg.method} with To tag {_to_tag(p)} (frame {p.frame})" for p in after[:3]),
            [ok_b.frame] + [p.frame for p in after[:3]]))
    else:
        acks = [p for p in b.requests("ACK") if p.src == spec.dut_out_ip and p.time >= ok_b.time]
        if acks:
            out.append(passed("SIG-04", ["SIG-04", "BYP-01", "RFC3261-10"], "M", f"ACK in the answering fork's "
                              f"dialog (To tag {won}), none in the other {len(tags) - 1}", acks[0].frame))
    # media switched to the answering fork
    won_sdp = sdp_of(ok_b)
    won_port = won_sdp.audio.port if won_sdp is not None and won_sdp.audio is not None else None
    lost_ports = {sdp_of(first[t]).audio.port for t in tags if t != won and sdp_of(first[t]).audio} - {won_port}
    stale = [s for s in trace.rtp if s.src == spec.dut_out_ip and s.dst == spec.callee_ip and s.dport in lost_ports
             and s.last_time > ok_b.time + 0.2]
    if stale:
        s = stale[0]
        out.append(violation("SIG-04", ["SIG-04", "BYP-01", "MED-02"], "M", f"RTP to the answering fork's port "
                             f"{won_port} after its 200 (frame {ok_b.frame})", f"{s.packets} packets to port "
                             f"{s.dport}, another fork's SDP, until {s.last_time - ok_b.time:.1f} s after the 200",
                             [ok_b.frame, s.first_frame]))
    return out


_DTMF = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}


def _in_order(want: list[int], seen: list[int]) -> bool:
    it = iter(seen)
    return all(any(c == w for c in it) for w in want)


def _digits(codes: list[int]) -> str:
    names = {v: k for k, v in _DTMF.items()}
    return " ".join(names.get(c, f"event {c}") for c in codes) or "none"


@check
def early_dtmf(trace: Trace, *, spec: CallSpec, digits: str) -> list[Finding]:
    """TC-EM-02 (MED-03, SIG-03): the caller (our agent, as a Lync user answering an IVR) sends ``digits`` as RFC
    4733 telephone-events during early media, before any 200. The DUT must pass them on to the callee before the
    callee's 200, as RFC 4733 events (the passive RFC4733 rules judge their form), all of them and in order: an
    IVR that never hears the digits never answers, and a DUT that only relays events after the answer loses them."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    want = [_DTMF[d] for d in digits.upper()]
    events = trace.media.events()
    end_a, _ = _boundary(a, spec)
    sent = [e for e in events if e.stream.src == spec.caller_ip and e.stream.dst == spec.dut_in_ip
            and e.first_time < end_a]
    if not _in_order(want, [e.code for e in sent]):
        raise_missing(f"our DTMF {_digits(want)} (RFC 4733 events from {spec.caller_ip} before the DUT's final "
                      f"response; the capture shows {_digits([e.code for e in sent])})")
    ok_b = b.final(src=spec.callee_ip)
    end_b = ok_b.time if ok_b is not None else float("inf")
    got = [e for e in events if e.stream.src == spec.dut_out_ip and e.stream.dst == spec.callee_ip]
    early = [e for e in got if e.first_time < end_b]
    what = (f"the caller's DTMF {_digits(want)} (RFC 4733 events from frame {sent[0].first_frame}) relayed to the "
            f"callee as RFC 4733 events before its 200" + (f" (frame {ok_b.frame})" if ok_b else ""))
    if _in_order(want, [e.code for e in early]):
        return [passed("MED-03", ["MED-03", "SIG-03"], "M", f"{what}: {_digits([e.code for e in early])} in PT "
                       f"{early[0].pt}", [e.first_frame for e in early[:len(want)]])]
    if got:
        seen = (f"{_digits([e.code for e in early])} before it, {_digits([e.code for e in got if e not in early])} "
                f"after it")
        frames = [e.first_frame for e in got[:4]]
    else:
        rtp = [s for s in trace.rtp if s.src == spec.dut_out_ip and s.dst == spec.callee_ip and s.first_time < end_b]
        seen = ("no telephone-event from the DUT to the callee" + (f" (its early RTP carries PT "
                f"{sorted({pt for s in rtp for pt in s.payload_types})} only)" if rtp else ""))
        frames = [sent[0].first_frame]
    return [violation("MED-03", ["MED-03", "SIG-03"], "M", what, seen, frames)]


@check
def ringing_after_early_media(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-EM-03 (SIG-07, informative): after its 183 with SDP the callee sends 180 Ringing without SDP (the PSTN's
    alerting after an announcement). Recorded: whether the DUT passes the 180 on to the caller. Flagged: a 180 from
    the DUT that carries SDP after its 183 with SDP (Exchange UM/UCMA are reported to mishandle SDP in a 180)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, b = routed
    stim = _provisional(b, spec.callee_ip, with_sdp=True)
    ringing = [p for p in _provisional(b, spec.callee_ip, with_sdp=False) if p.msg.status == 180
               and stim and p.time > stim[0].time]
    if not stim or not ringing:
        raise_missing(f"our 183 with SDP followed by a 180 without SDP from {spec.callee_ip}")
    early = _provisional(a, spec.dut_in_ip, with_sdp=True)
    after = [p for p in _provisional(a, spec.dut_in_ip) if p.msg.status == 180 and early and p.time > early[0].time]
    with_sdp = [p for p in after if sdp_of(p) is not None]
    if with_sdp:
        return [violation("SIG-07", "SIG-07", "I", f"no SDP in the DUT's 180 after its 183 with SDP (frame "
                          f"{early[0].frame}; the callee's 180 had none, frame {ringing[0].frame})",
                          "a 180 with SDP", [early[0].frame, with_sdp[0].frame])]
    if after:
        return [passed("SIG-07", "SIG-07", "I", "the callee's 180 passed on without SDP after the 183 with SDP",
                       after[0].frame)]
    return [passed("SIG-07", "SIG-07", "I", f"the DUT did not pass the callee's 180 (frame {ringing[0].frame}) on "
                   f"after its 183 with SDP" + (f" (frame {early[0].frame})" if early else ""), ringing[0].frame)]
