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
    the same SDP as its 183 of that dialog (:func:`same_answer`)."""
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
        seen = (f"the first RTP at frame {late[0].first_frame}, {end - late[0].first_time:+.2f} s before it" if late
                else "no RTP from the DUT to the caller")
        out.append(violation("RFC3960-01", ["RFC3960-01", "SIG-03"], "M", want, seen,
                             [first.first_frame] + ([late[0].first_frame] if late else [])))
    else:
        s = relayed[0]
        out.append(passed("RFC3960-01", ["RFC3960-01", "SIG-03"], "M", f"early media to the caller: RTP from frame "
                          f"{s.first_frame}, {end - s.first_time:.2f} s before {end_text}", s.first_frame))
    if answered:
        ok_a = a.final(src=spec.dut_in_ip)
        if ok_a is None or ok_a.msg.status != 200:
            if ok_b is not None and ok_b.msg.status == 200:
                out.append(violation("CALL-ANSWER", "RFC3261-20", "M", f"the callee's 200 (frame {ok_b.frame}) "
                                     f"passed on to the caller", ok_a and f"{ok_a.msg.status}" or "none",
                                     ok_a.frame if ok_a else ok_b.frame))
            return out
        same = [p for p in dut_early if _to_tag(p) == _to_tag(ok_a)]
        out.append(same_answer(same[-1], ok_a) if same else violation(
            "RFC3960-01", ["RFC3960-01", "SIG-03"], "M", f"the 200 (frame {ok_a.frame}) in the dialog of the DUT's "
            f"183 with SDP (To tag {_to_tag(dut_early[0])})", f"To tag {_to_tag(ok_a)}", ok_a.frame))
    return out
