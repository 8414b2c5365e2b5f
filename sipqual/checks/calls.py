"""Checks of a basic call through the DUT (suites TRN and BAS): routed, answered, ACKed, G.711 both ways on both
legs, cleared on both legs; a DUT omission that stopped our agent is the FAIL (see :func:`.common.stop_unless_explained`)."""

from __future__ import annotations

from ..recording import check
from ..rtp import RtpStream
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import (MIN_RTP_PACKETS, CallSpec, Leg, raise_missing, route, route_held, sdp_of,
                     stop_unless_explained)

@check
def basic_call(trace: Trace, *, spec: CallSpec, hangup_by: str) -> list[Finding]:
    """A call through the DUT: answered on both legs, G.711 RTP both ways on both legs, cleared on both legs.

    ``hangup_by`` is "caller" or "callee": who sends the BYE, so the other leg's BYE must come from the DUT.
    """
    out: list[Finding] = []
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    out.append(route_held(theirs, spec))
    # transport and port toward the callee (TRN-01 / TRN-03)
    if spec.callee_transports and theirs.transport not in spec.callee_transports:
        out.append(violation("TRN-01", "TRN-01", "M", f"INVITE over {'/'.join(spec.callee_transports)}",
                             theirs.transport, theirs.frame))
    if spec.callee_port and theirs.dport != spec.callee_port:
        out.append(violation("TRN-03", "TRN-03", "M", f"INVITE sent to port {spec.callee_port}",
                             f"port {theirs.dport}", theirs.frame))
    elif spec.callee_port:
        out.append(passed("TRN-03", "TRN-03", "M", f"INVITE sent to {theirs.dst}:{theirs.dport} over "
                          f"{theirs.transport}", theirs.frame))
    # answered on both legs
    ok_a, ok_b = a.final(), b.final()
    for leg_name, final, leg, src in (("caller", ok_a, a, spec.dut_in_ip), ("callee", ok_b, b, spec.callee_ip)):
        if final is None or final.msg.status != 200:
            seen = f"{final.msg.status} {final.msg.reason}" if final else "no final response"
            out.append(violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to the INVITE on the {leg_name} leg "
                                 f"(frame {leg.invite.frame})", seen, final.frame if final else None))
    if ok_a is None or ok_a.msg.status != 200:
        return out
    out.append(passed("CALL-ANSWER", "RFC3261-20", "M", "200 OK relayed to the caller", ok_a.frame))
    out.extend(_answer_sdp(ours, ok_a, spec))
    if spec.codec_pt is not None:
        out.extend(_one_codec(ours, theirs, ok_a, spec))
    out.extend(_ack_relayed(a, b, ok_b, spec))
    out.extend(_early_release(a, b, spec, hangup_by))
    out.extend(_media(trace, ours, ok_a, b.invite, ok_b, spec, out))
    out.extend(_cleared(a, b, spec, hangup_by, out))
    return out


def _answer_sdp(offer: SipPacket, answer: SipPacket, spec: CallSpec) -> list[Finding]:
    o, a = sdp_of(offer), sdp_of(answer)
    if a is None or a.audio is None:
        return [violation("MED-01", ["MED-01", "RFC3261-20"], "M", "an SDP answer with an audio stream in the 200",
                          "none", answer.frame)]
    offered = set(o.audio.formats) if o and o.audio else set()
    answered = [f for f in a.audio.formats if f in offered]
    g711 = [f for f in answered if f in ("0", "8")]
    if not g711:
        return [violation("MED-01", ["MED-01", "RFC3264-02"], "M", "PCMU or PCMA from the offer in the answer",
                          f"m={a.audio.kind} {a.audio.port} {a.audio.proto} {' '.join(a.audio.formats)}",
                          answer.frame)]
    return [passed("MED-01", ["MED-01", "RFC3264-02"], "M", f"answer codecs {a.audio.codec_names()}", answer.frame)]


_G711_NAMES = {0: "PCMU", 8: "PCMA"}


def _m_line(p: SipPacket) -> str:
    sdp = sdp_of(p)
    a = sdp.audio if sdp is not None else None
    return f"m={a.kind} {a.port} {a.proto} {' '.join(a.formats)}" if a is not None else "no audio stream"


def _one_codec(offer: SipPacket, relayed: SipPacket, answer: SipPacket, spec: CallSpec) -> list[Finding]:
    """MED-01 with a one-codec offer (the caller offers only PCMU, or only PCMA): the DUT passes that codec on in its
    offer to the callee and answers the caller in it (the RTP on both legs is judged in :func:`_media`). A DUT that
    offers the callee, or answers the caller in, the other G.711 law has the call carried in a codec the caller never
    offered."""
    pt = str(spec.codec_pt)
    name = f"PT {pt} ({_G711_NAMES.get(spec.codec_pt, '?')})"
    out = []
    o = sdp_of(relayed)
    want = f"the DUT's offer to the callee listing {name}, the one codec the caller offered (frame {offer.frame})"
    if o is None or o.audio is None or pt not in o.audio.formats:
        out.append(violation("MED-01", ["MED-01"], "M", want, _m_line(relayed), relayed.frame))
    else:
        out.append(passed("MED-01", ["MED-01"], "M", f"{want}: {_m_line(relayed)}", relayed.frame))
    a = sdp_of(answer)
    codecs = [f for f in (a.audio.formats if a is not None and a.audio is not None else []) if f not in ("101", "13")]
    want = f"the answer to the caller in {name}, the codec it offered (frame {offer.frame})"
    if codecs[:1] != [pt]:
        out.append(violation("MED-01", ["MED-01", "RFC3264-02"], "M", want, _m_line(answer), answer.frame))
    else:
        out.append(passed("MED-01", ["MED-01", "RFC3264-02"], "M", f"{want}: {_m_line(answer)}", answer.frame))
    return out


def _ack_relayed(a: Leg, b: Leg, ok_b: SipPacket | None, spec: CallSpec) -> list[Finding]:
    """RFC3261-10: once the caller ACKed the DUT's 200, the DUT ACKs the callee's 200 (a proxy relays the ACK, a
    B2BUA sends its own). Without it the callee (our agent on that side) waits, retransmits its 200 and never goes
    on to media or its BYE: this finding is then why the case could not complete."""
    acks_in = [p for p in a.requests("ACK") if p.src == spec.caller_ip]
    acks_out = [p for p in b.requests("ACK") if p.dst == spec.callee_ip and p.src == spec.dut_out_ip]
    if ok_b is None or ok_b.msg.status != 200:
        return []
    if acks_in and not acks_out:
        resent = [p for p in b.responses() if p.src == spec.callee_ip and p.msg.status == 200]
        return [violation("RFC3261-10", "RFC3261-10", "M", f"an ACK from the DUT to {spec.callee_ip} for the "
                          f"callee's 200 OK (frame {ok_b.frame}), after the caller's ACK (frame {acks_in[0].frame})",
                          f"none on the callee's leg ({len(resent)} transmission(s) of that 200)",
                          [ok_b.frame, acks_in[0].frame])]
    if acks_out:
        return [passed("RFC3261-10", "RFC3261-10", "M", "the DUT ACKed the callee's 200 OK", acks_out[0].frame)]
    return []


def _early_release(a: Leg, b: Leg, spec: CallSpec, hangup_by: str) -> list[Finding]:
    """The call stays up until our agent hangs up: a BYE from the DUT toward the side that was to hang up, before
    that side's own BYE, is the DUT dropping the call (our agent then has no dialog left to end)."""
    ours_ip, leg = (spec.caller_ip, a) if hangup_by == "caller" else (spec.callee_ip, b)
    dut_ip = spec.dut_in_ip if hangup_by == "caller" else spec.dut_out_ip
    our_byes = [p.time for p in leg.requests("BYE") if p.src == ours_ip]
    early = [p for p in leg.requests("BYE") if p.src == dut_ip and p.dst == ours_ip
             and (not our_byes or p.time < min(our_byes))]
    if early:
        return [violation("CALL-UP", ["TRN-01", "RFC3261-14"], "M", f"the call to stay up until the {hangup_by} "
                          f"({ours_ip}) hangs up", f"a BYE from the DUT at frame {early[0].frame} first",
                          early[0].frame)]
    return []


def _rtp_summary(streams: list[RtpStream]) -> str:
    """Packets, payload types and loss of the streams that make up one direction of a leg."""
    packets = sum(s.packets for s in streams)
    if not streams:
        return "0 packets"
    pts = sorted({pt for s in streams for pt in s.payload_types})
    lost = sum(s.lost for s in streams)
    return f"{packets} packets, PT {pts}, {len(streams)} stream(s), lost {lost}"


def _media(trace: Trace, offer: SipPacket, answer: SipPacket, b_offer: SipPacket, b_answer: SipPacket | None,
           spec: CallSpec, found: list[Finding]) -> list[Finding]:
    """MED-01/MED-02: G.711 RTP flows both ways on both legs, through the DUT, in the negotiated codec, to the
    addresses each side's SDP asked for. Each direction is the set of RTP streams (one per SSRC) between the two
    addresses that were still sending when the call was answered.

    Our agents' own streams are the stimulus, not something the DUT is judged on: the DUT's stream toward one side
    is judged only when our agent on the other side sent the RTP it relays. When one of our streams is missing, the
    DUT is blamed only for what the capture shows it did (the SDP it gave our agent points elsewhere, or an earlier
    fault in ``found`` such as a missing ACK that left our agent waiting); otherwise we could not test (ERROR)."""
    out = []
    a_sdp, b_sdp = sdp_of(answer), sdp_of(b_offer)
    my_offer = sdp_of(offer)
    ours = {  # our stream -> (name, the DUT's SDP that told our agent where to send, the DUT address it should reach)
        "caller": ("caller -> DUT", spec.caller_ip, spec.dut_in_ip, a_sdp, answer),
        "callee": ("callee -> DUT", spec.callee_ip, spec.dut_out_ip, b_sdp, b_offer),
    }
    flows = [  # (name, src, dst, the receiver's SDP, whose stream the DUT relays here)
        ("DUT -> caller", spec.dut_in_ip, spec.caller_ip, my_offer, "callee"),
        ("DUT -> callee", spec.dut_out_ip, spec.callee_ip, sdp_of(b_answer), "caller"),
    ]
    sent = {}
    for who, (name, src, dst, dut_sdp, dut_msg) in ours.items():
        streams = [s for s in trace.rtp if s.src == src and s.dst == dst and s.last_time >= answer.time - 5]
        sent[who] = sum(s.packets for s in streams) >= MIN_RTP_PACKETS
        if sent[who]:
            continue
        where = dut_sdp.audio if dut_sdp is not None else None
        conn = where.effective_connection if where is not None else None
        addr = conn.address.split("/")[0] if conn is not None and not conn.is_unspecified else None
        if addr and addr not in (src, dst, spec.dut_in_ip, spec.dut_out_ip):
            elsewhere = sum(s.packets for s in trace.rtp if s.src == src and s.dst == addr)
            if elsewhere >= MIN_RTP_PACKETS:  # a media address apart from the signalling one: not judged here
                raise_missing(f"our RTP {name} through the DUT's signalling address (it went to c={addr}, "
                              f"{elsewhere} packets; sipqual follows media on the DUT's signalling addresses)")
            out.append(violation("MED-02", ["MED-02"], "M", f"the DUT's SDP (frame {dut_msg.frame}) to "
                                 f"direct {name} media to the DUT ({dst})", f"c={addr} port {where.port}, which "
                                 f"our agent could not reach through the DUT ({elsewhere} packets to it on the "
                                 f"wire)", dut_msg.frame))
            continue
        stop_unless_explained(found + out, f"our RTP {name} ({_rtp_summary(streams)})")
    flows = [f for f in flows if sent[f[4]]]
    answered_pts = {int(f) for f in (a_sdp.audio.formats if a_sdp and a_sdp.audio else []) if f.isdigit()}
    for name, src, dst, dest_sdp, _relays in flows:
        streams = [s for s in trace.rtp if s.src == src and s.dst == dst and s.last_time >= answer.time - 5]
        if dest_sdp is not None and dest_sdp.audio is not None and dest_sdp.audio.port > 0:
            port = dest_sdp.audio.port
            to_port = [s for s in streams if s.dport == port]
            if streams and not to_port:
                out.append(violation("MED-02", "MED-02", "M", f"RTP {name} to port {port} from the SDP",
                                     f"ports {sorted({s.dport for s in streams})}", streams[0].first_frame))
                continue
            streams = to_port
        first = streams[0].first_frame if streams else None
        if sum(s.packets for s in streams) < MIN_RTP_PACKETS:
            out.append(violation("MED-02", ["MED-02", "MED-01"], "M", f"RTP {name} (at least {MIN_RTP_PACKETS} "
                                 f"packets)", _rtp_summary(streams), first))
            continue
        pts = {pt for s in streams for pt in s.payload_types}
        if spec.codec_pt is not None and not pts <= {spec.codec_pt, 101, 13}:
            out.append(violation("MED-01", ["MED-01", "RFC3264-02"], "M", f"RTP {name} in PT {spec.codec_pt} "
                                 f"({_G711_NAMES.get(spec.codec_pt, '?')}), the one codec the caller offered",
                                 _rtp_summary(streams), first))
            continue
        if name == "DUT -> caller" and answered_pts and not pts <= answered_pts | {101, 13}:
            out.append(violation("MED-01", ["MED-01", "RFC3264-02"], "M", f"RTP {name} in the answered payload "
                                 f"types {sorted(answered_pts)}", _rtp_summary(streams), first))
            continue
        out.append(passed("MED-02", ["MED-02"], "M", f"RTP {name}: {_rtp_summary(streams)}", first))
    return out


def _cleared(a: Leg, b: Leg, spec: CallSpec, hangup_by: str, found: list[Finding]) -> list[Finding]:
    if hangup_by == "caller":
        ours, ours_leg, relayed_leg, relayed_dst = spec.caller_ip, a, b, spec.callee_ip
    else:
        ours, ours_leg, relayed_leg, relayed_dst = spec.callee_ip, b, a, spec.caller_ip
    byes = [p for p in ours_leg.requests("BYE") if p.src == ours]
    if not byes:
        stop_unless_explained(found, f"our BYE from {ours}")
        return []
    bye = byes[0]
    out = []
    ok = [p for p in ours_leg.responses("BYE") if p.dst == ours and p.msg.status == 200]
    if not ok:
        got = [f"{p.msg.status} (frame {p.frame})" for p in ours_leg.responses("BYE") if p.dst == ours]
        out.append(violation("RFC3261-14", "RFC3261-14", "M", f"200 OK to our BYE (frame {bye.frame})",
                             ", ".join(got) or "no response"))
    relayed = [p for p in relayed_leg.requests("BYE") if p.dst == relayed_dst and p.time >= bye.time]
    if not relayed:
        out.append(violation("RFC3261-14", "RFC3261-14", "M", f"the DUT clearing the other leg with a BYE to "
                             f"{relayed_dst} after frame {bye.frame}", "no BYE"))
    else:
        out.append(passed("RFC3261-14", "RFC3261-14", "M", "call cleared on both legs", relayed[0].frame))
    return out
