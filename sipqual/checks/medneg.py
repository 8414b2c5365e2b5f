"""Checks of suites MED and DTMF on the media agent's calls, continued (:mod:`.med` is at its size limit): codec
negotiation with the payload types on the wire (TC-MED-01), the DUT's behaviour while the Mediation side withholds
RTCP (TC-MED-05, informative) and asymmetric telephone-event payload types (TC-DTMF-04). Everything from the
capture, with frames; legs found by our test markers and the dialled number (B2BUA-safe)."""

from __future__ import annotations

from dataclasses import replace

from ..recording import check
from ..trace import SipPacket, Trace
from ..verdict import Finding, passed, violation
from .common import MIN_RTP_PACKETS, CallSpec, raise_missing, route, sdp_of, status_text
from .em import _DTMF, _digits, _in_order

_NAMES = {"0": "PCMU", "8": "PCMA", "13": "CN"}
_REQS = ["MED-01", "RFC3264-02"]


def _m(p: SipPacket | None) -> str:
    sdp = sdp_of(p)
    a = sdp.audio if sdp is not None else None
    return f"m=audio {a.port} {a.proto} {' '.join(a.formats)}" if a is not None else "no audio stream"


def _formats(p: SipPacket | None) -> list[str]:
    sdp = sdp_of(p)
    return list(sdp.audio.formats) if sdp is not None and sdp.audio is not None else []


def _port(p: SipPacket | None) -> int | None:
    sdp = sdp_of(p)
    return sdp.audio.port if sdp is not None and sdp.audio is not None else None


def _wire(trace: Trace, src: str, dst: str, dport: int | None) -> tuple[int, set[int], int | None]:
    """Packets, payload types and first frame of the RTP from ``src`` to ``dst``:``dport``."""
    streams = [s for s in trace.rtp if s.src == src and s.dst == dst and (dport is None or s.dport == dport)]
    return (sum(s.packets for s in streams), {pt for s in streams for pt in s.payload_types},
            min((s.first_frame for s in streams), default=None))


def _pts(formats) -> str:
    return "/".join(f"{f} ({_NAMES.get(f, '?')})" if f in _NAMES else f for f in formats)


@check
def codecs_negotiated(trace: Trace, *, spec: CallSpec, calls: list) -> list[Finding]:
    """TC-MED-01 (MED-01, RFC3264-02): ``calls`` is [[test marker, [G.711 PTs offered]], ...], one OUT call each (our
    Mediation-side caller offers PCMU only, PCMA only, both; telephone-event and CN beside). For each: the DUT's answer
    lists only formats of our offer and at least one offered G.711 type; the DUT's RTP to our caller is in payload
    types both our offer and its answer list (RFC 3264 section 6.1) and its RTP to our far callee in types both its
    offer to the far end and the far end's answer list. Our agents' own RTP (what the DUT relays) is the stimulus: a
    direction the DUT had nothing to relay for is an ERROR, not a fault."""
    out: list[Finding] = []
    for marker, pts in calls:
        s = replace(spec, test_id=marker)
        routed = route(trace, s)
        if isinstance(routed, Finding):
            out.append(routed)
            continue
        ours, a, theirs, b = routed
        label = "+".join(_NAMES[str(p)] for p in pts) + (" only" if len(pts) == 1 else "")
        offered = _formats(ours)
        ok = a.final(src=spec.dut_in_ip)
        if ok is None or ok.msg.status != 200:
            out.append(violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to our {label} offer (frame "
                                 f"{ours.frame})", status_text(ok), ok.frame if ok else ours.frame))
            continue
        answered = _formats(ok)
        what = f"the DUT's answer to our {label} offer ({_pts(offered)}, frame {ours.frame}) a subset of it with " \
               "an offered G.711 type"
        g711 = [f for f in answered if f in offered and f in ("0", "8")]
        stray = [f for f in answered if f not in offered]
        if not g711 or stray:
            out.append(violation("MED-01", _REQS, "M", what, _m(ok) + (f" ({', '.join(stray)} never offered)"
                                                                       if stray else ""), ok.frame))
            continue
        out.append(passed("MED-01", _REQS, "M", f"{what}: {_m(ok)}", ok.frame))
        far_ok = b.final(src=spec.callee_ip)
        legs = [("caller", spec.caller_ip, spec.dut_in_ip, _port(ours), set(offered) & set(answered),
                 spec.callee_ip, spec.dut_out_ip)]
        if far_ok is not None and far_ok.msg.status == 200:
            legs.append(("far callee", spec.callee_ip, spec.dut_out_ip, _port(far_ok),
                         set(_formats(theirs)) & set(_formats(far_ok)), spec.caller_ip, spec.dut_in_ip))
        for who, dst, dut, port, allowed, relayed_from, relayed_to in legs:
            n, seen, frame = _wire(trace, dut, dst, port)
            want = f"the DUT's RTP to our {who} ({label} call) in a payload type both sides' SDP list " \
                   f"({_pts(sorted(allowed, key=int))})"
            if n < MIN_RTP_PACKETS:
                fed, _pt, _f = _wire(trace, relayed_from, relayed_to, None)
                if fed < MIN_RTP_PACKETS:
                    raise_missing(f"our RTP from {relayed_from} on the {label} call ({fed} packets)")
                out.append(violation("MED-01", ["MED-01", "MED-02"], "M", want, f"{n} RTP packets to "
                                     f"{dst}:{port}", frame or ok.frame))
                continue
            bad = sorted(pt for pt in seen if str(pt) not in allowed)
            if bad:
                out.append(violation("MED-01", _REQS, "M", want, f"PT {sorted(seen)} on the wire ({n} packets; "
                                     f"{bad} not negotiated)", frame))
            else:
                out.append(passed("MED-01", _REQS, "M", f"{want}: PT {sorted(seen)}, {n} packets", frame))
    return out


RTCP_JUDGED_AFTER_S = 20.0    # TC-MED-05: a withholding this long shows whether the DUT's own RTCP goes on (Tmax 7.5 s)
RTCP_SILENCE_S = 10.0         # ... and the DUT's RTCP counts as going on while no gap is longer (TC-MED-04's bound)
MEDIA_STOP_S = 2.0            # the DUT's RTP counts as stopped after this long without a packet before our BYE


@check
def rtcp_withheld(trace: Trace, *, spec: CallSpec, withheld_s: float) -> list[Finding]:
    """TC-MED-05 (MED-05, informative): our Mediation-side caller sends RTP but withholds its RTCP for the whole call
    (``withheld_s``), then hangs up. Recorded, severity I: whether the DUT kept the call up to our BYE (a BYE from
    it first is the DUT dropping the call on missing RTCP, as Lync's RTCPActiveCalls does after 30 s: an interop
    hazard with a peer that sends none), whether its RTP to us went on, and its own RTCP to us meanwhile (count,
    longest silence; a violation only when the call lasted :data:`RTCP_JUDGED_AFTER_S` and it had none or fell
    silent over :data:`RTCP_SILENCE_S` s). Our agent sending RTCP after all is an ERROR (not the stimulus)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    reqs = ["MED-05"]
    mine = [f for f in trace.media.rtcp_flows if f.src == spec.caller_ip and f.dst == spec.dut_in_ip]
    if any(f.compounds for f in mine):
        raise_missing(f"RTCP withheld by our agent (it sent {sum(f.compounds for f in mine)} compound(s) from frame "
                      f"{min(f.first_frame for f in mine)})")
    ok = a.final(src=spec.dut_in_ip)
    if ok is None or ok.msg.status != 200:
        return [violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to our INVITE (frame {ours.frame})",
                          status_text(ok), ok.frame if ok else ours.frame)]
    our_bye = next((p for p in a.requests("BYE") if p.src == spec.caller_ip), None)
    dut_bye = next((p for p in a.requests("BYE") if p.src == spec.dut_in_ip and p.dst == spec.caller_ip), None)
    out: list[Finding] = []
    what = "the call kept up while the Mediation side withheld its RTCP, until our BYE"
    if dut_bye is not None and (our_bye is None or dut_bye.time < our_bye.time):
        out.append(violation("MED-05", reqs, "I", what, f"a BYE from the DUT {dut_bye.time - ok.time:.1f} s after "
                             "the answer, without RTCP from us", dut_bye.frame))
        end = dut_bye.time
    elif our_bye is None:
        raise_missing("our BYE at the end of the withholding")
    else:
        out.append(passed("MED-05", reqs, "I", f"{what}: {our_bye.time - ok.time:.1f} s without RTCP from us, our "
                          "BYE ended it", our_bye.frame))
        end = our_bye.time
    rtp = [s for s in trace.rtp if s.src == spec.dut_in_ip and s.dst == spec.caller_ip and s.last_time >= ok.time - 1]
    if not rtp:
        return out + [violation("MED-05", ["MED-05", "MED-02"], "I", "the DUT's RTP to us during the withholding",
                                "none", ok.frame)]
    last = max(s.last_time for s in rtp)
    frame = min(s.first_frame for s in rtp)
    if end - last > MEDIA_STOP_S:
        out.append(violation("MED-05", ["MED-05", "MED-02"], "I", "the DUT's RTP to us going on while our RTCP "
                             "was withheld", f"its last packet {end - last:.1f} s before the call ended", frame))
    flows = [f for f in trace.media.rtcp_flows if f.src == spec.dut_in_ip and f.dst == spec.caller_ip]
    f = max(flows, key=lambda x: x.compounds) if flows else None
    span = end - ok.time
    what = f"the DUT's own RTCP to us while ours was withheld ({span:.1f} s)"
    if f is None or not f.compounds:
        seen = "none"
        gap, gframe = span, frame
    else:
        gap, gframe = max((f.first_time - ok.time, f.first_frame), (f.max_gap, f.max_gap_frame or f.first_frame),
                          (end - f.last_time, f.last_frame))
        seen = f"{f.compounds} compound(s), longest silence {gap:.1f} s"
    if span >= RTCP_JUDGED_AFTER_S and gap > RTCP_SILENCE_S:
        out.append(violation("MED-05", reqs, "I", f"{what} never silent over {RTCP_SILENCE_S:g} s", seen, gframe))
    else:
        note = "" if span >= RTCP_JUDGED_AFTER_S else f" (recorded only: under {RTCP_JUDGED_AFTER_S:g} s)"
        out.append(passed("MED-05", reqs, "I", f"{what}: {seen}{note}", f.first_frame if f and f.compounds else
                          frame))
    return out


def _te(p: SipPacket | None) -> list[int]:
    sdp = sdp_of(p)
    media = sdp.audio if sdp is not None else None
    return sorted(pt for pt, (enc, _c, _ch) in media.rtpmap.items() if enc.lower() == "telephone-event") \
        if media is not None else []


@check
def dtmf_asymmetric_pts(trace: Trace, *, spec: CallSpec, caller_digits: str, callee_digits: str) -> list[Finding]:
    """TC-DTMF-04 (RFC4733-06): telephone-event PTs differ per direction (the caller's offer says 101, the callee's
    answer 96). Our caller's agent sends ``caller_digits``, our callee's ``callee_digits``, each as RFC 4733 events.
    Each must reach the other agent, all and in order, as events on the telephone-event PT *the receiver's* SDP
    declared: to the callee the PT of its answer, to the caller the PT of its offer (the DUT's own SDP toward each
    of us only says what it receives). Events on another PT are named with their PT and frame."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ours, a, theirs, b = routed
    callee_ok = b.final(src=spec.callee_ip)
    caller_ok = a.final(src=spec.dut_in_ip)
    if callee_ok is None or callee_ok.msg.status != 200 or caller_ok is None or caller_ok.msg.status != 200:
        final = caller_ok or callee_ok
        return [violation("CALL-ANSWER", "RFC3261-20", "M", f"200 OK to our INVITE (frame {ours.frame})",
                          status_text(caller_ok), final.frame if final else ours.frame)]
    events = trace.media.events()
    out: list[Finding] = []
    reqs = ["RFC4733-06", "MED-03"]
    for digits, src, dut_rx, dut_tx, dst, declared, where, told in (
            (caller_digits, spec.caller_ip, spec.dut_in_ip, spec.dut_out_ip, spec.callee_ip, _te(callee_ok),
             f"its answer (frame {callee_ok.frame})", caller_ok),
            (callee_digits, spec.callee_ip, spec.dut_out_ip, spec.dut_in_ip, spec.caller_ip, _te(ours),
             f"its offer (frame {ours.frame})", theirs)):
        want = [_DTMF[d] for d in digits.upper()]
        sent = [e for e in events if e.stream.src == src and e.stream.dst == dut_rx]
        if not sent and not _te(told):
            # our agent sends events only on a telephone-event PT the DUT's SDP gave it: none there, none sent
            out.append(violation("RFC4733-06", reqs, "M", f"telephone-event kept in the DUT's SDP to {src} (frame "
                                 f"{told.frame}) since {dst} declared it on PT "
                                 f"{'/'.join(map(str, declared)) or 'none'} in {where}",
                                 f"{_m(told)} without telephone-event, so {digits} could not be sent as events",
                                 told.frame))
            continue
        if not _in_order(want, [e.code for e in sent]):
            raise_missing(f"our DTMF {_digits(want)} (RFC 4733 events from {src}; the capture shows "
                          f"{_digits([e.code for e in sent])})")
        what = (f"the DTMF {_digits(want)} from {src} (our events on PT {sent[0].pt}, from frame "
                f"{sent[0].first_frame}) delivered to {dst} as RFC 4733 events on PT "
                f"{'/'.join(map(str, declared)) or 'none'}, the telephone-event PT {dst} declared in {where}")
        if not declared:
            raise_missing(f"a telephone-event PT in the SDP of our agent {dst}")
        got = [e for e in events if e.stream.src == dut_tx and e.stream.dst == dst and e.pt in declared]
        if _in_order(want, [e.code for e in got]):
            out.append(passed("RFC4733-06", reqs, "M", f"{what}: {_digits([e.code for e in got])}",
                              [e.first_frame for e in got[:len(want)]]))
            continue
        streams = [s for s in trace.rtp if s.src == dut_tx and s.dst == dst]
        wrong: dict[int, list] = {}
        for s in streams:
            for p in s.event_packets:
                if p[5] not in declared:
                    wrong.setdefault(p[5], []).append(p)
        if wrong:
            pt, packets = min(wrong.items(), key=lambda kv: kv[1][0][0])
            seen = f"{len(packets)} event packet(s) on PT {pt} instead (from frame {packets[0][0]})"
            frames = [packets[0][0]]
        elif got:
            seen = f"only {_digits([e.code for e in got])}"
            frames = [e.first_frame for e in got[:4]]
        else:
            pts = sorted({pt for s in streams for pt in s.payload_types})
            seen = f"no telephone-event (its RTP to {dst} carries PT {pts})" if streams else f"no RTP to {dst}"
            frames = [s.first_frame for s in streams[:1]] or [sent[0].first_frame]
        out.append(violation("RFC4733-06", reqs, "M", what, seen, frames))
    return out


PROMPT_PACKETS = 10           # TC-DTMF-06: the IVR's confirmation reached the caller: 0.2 s of its audio at least


@check
def pin_collected(trace: Trace, *, spec: CallSpec, pin: str, heard_events: str, heard_inband: str
                  ) -> list[Finding]:
    """TC-DTMF-06 (MED-03, end to end): our far caller keys ``pin`` as RFC 4733 events to a conference / Exchange UM
    emulation on the Mediation side (our callee's agent), which then plays a confirmation. ``heard_events``: the
    digits the IVR's agent decoded from the events it received, ``heard_inband``: the DTMF tones its detector heard
    in the audio (plain data from its report). PASS when the IVR collected the whole PIN exactly once, in order,
    with no digit doubled by a tone beside its event, and its confirmation audio reached the caller through the DUT
    after the PIN (frames: the DUT's events to the IVR and its RTP to the caller)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    want = [_DTMF[d] for d in pin.upper()]
    events = trace.media.events()
    sent = [e for e in events if e.stream.src == spec.caller_ip and e.stream.dst == spec.dut_in_ip]
    if not _in_order(want, [e.code for e in sent]):
        raise_missing(f"our PIN {_digits(want)} (RFC 4733 events from {spec.caller_ip}; the capture shows "
                      f"{_digits([e.code for e in sent])})")
    got = [e for e in events if e.stream.src == spec.dut_out_ip and e.stream.dst == spec.callee_ip]
    frames = [e.first_frame for e in got[:len(want)]] or [sent[0].first_frame]
    collected = heard_events + heard_inband
    what = (f"the PIN {' '.join(pin)} keyed by the caller (events from frame {sent[0].first_frame}) collected by the "
            f"conference/UM on the Mediation side exactly once, in order")
    out: list[Finding] = []
    if heard_events.upper() == pin.upper() and not heard_inband:
        out.append(passed("MED-03", ["MED-03"], "M", f"{what}: it decoded {' '.join(heard_events)} from the DUT's "
                          "RFC 4733 events, no tone beside them", frames))
    else:
        seen = f"it decoded {' '.join(heard_events) or 'no digit'} from RFC 4733 events"
        seen += f" and heard {' '.join(heard_inband)} as tones in the audio (each such digit counted twice)" \
            if heard_inband else ""
        return [violation("MED-03", ["MED-03"], "M", what, f"{seen} ({len(collected)} digit(s) collected; "
                          f"{len(got)} events from the DUT on the wire)", frames)]
    last = max(sent, key=lambda e: e.first_time)
    after = last.first_time + last.duration / 8000
    rtp = [s for s in trace.rtp if s.src == spec.dut_in_ip and s.dst == spec.caller_ip]
    n = sum(s.packets_between(after, s.last_time + 1) for s in rtp)
    prompt = (f"the IVR's confirmation audio relayed to the caller after the PIN's last event (frame "
              f"{last.first_frame}): at least {PROMPT_PACKETS} packets")
    if n < PROMPT_PACKETS:
        out.append(violation("MED-03", ["MED-03", "MED-02"], "M", prompt, f"{n} RTP packet(s) from the DUT to the "
                             "caller after it", [s.first_frame for s in rtp[:1]] or frames))
    else:
        out.append(passed("MED-03", ["MED-03", "MED-02"], "M", f"{prompt}: {n} packets",
                          [s.last_frame for s in rtp if s.last_time > after][:1]))
    return out
