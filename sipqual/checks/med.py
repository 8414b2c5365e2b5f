"""Checks of suites MED and DTMF on the media agent's calls: what the DUT relayed between our two agents, read from
the capture (frames for every verdict), with the receiving agent's own report (digits its Goertzel detector heard
in the audio) as plain-data context. The form of each RFC 4733 event (shared timestamp, marker, duration growth,
end packets) is judged by the passive rules RFC4733-02/03/04/06 on every event the DUT sends."""

from __future__ import annotations

from ..recording import check
from ..rtp import G711
from ..rtpclock import read_steps
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import MIN_RTP_PACKETS, CallSpec, raise_missing, route, sdp_of
from .em import _DTMF, _digits, _in_order


def _ends(spec: CallSpec, from_caller: bool) -> tuple[str, str, str, str]:
    """(our sender, the DUT's address facing it, the DUT's address facing our receiver, our receiver)."""
    return ((spec.caller_ip, spec.dut_in_ip, spec.dut_out_ip, spec.callee_ip) if from_caller
            else (spec.callee_ip, spec.dut_out_ip, spec.dut_in_ip, spec.caller_ip))


@check
def dtmf_relayed(trace: Trace, *, spec: CallSpec, digits: str, from_caller: bool, heard_inband: str = "",
                 receiver_pt: int | None = None, requirements: tuple[str, ...] = ("MED-03",),
                 severity: str = "M") -> list[Finding]:
    """TC-DTMF-01/02 (MED-03): our agent on one side sends ``digits`` as RFC 4733 telephone-events during the call;
    the DUT must deliver every one of them, in order, to our agent on the other side as RFC 4733 events (not only as
    tones in the audio: ``heard_inband`` is what the receiving agent's tone detector heard, quoted when the events are
    missing). ``from_caller``: the caller's side sends (else the callee's). ``receiver_pt``: the telephone-event PT
    the receiver's SDP gave (RFC 4733 events on another PT are not events to it; quoted when none arrive)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    want = [_DTMF[d] for d in digits.upper()]
    src, dut_rx, dut_tx, dst = _ends(spec, from_caller)
    events = trace.media.events()
    sent = [e for e in events if e.stream.src == src and e.stream.dst == dut_rx]
    if not _in_order(want, [e.code for e in sent]):
        raise_missing(f"our DTMF {_digits(want)} (RFC 4733 events from {src}; the capture shows "
                      f"{_digits([e.code for e in sent])})")
    got = [e for e in events if e.stream.src == dut_tx and e.stream.dst == dst]
    reqs = list(requirements)
    what = (f"the DTMF {_digits(want)} sent by {'caller' if from_caller else 'callee'} {src} as RFC 4733 events "
            f"(from frame {sent[0].first_frame}) delivered to {dst} as RFC 4733 events, all and in order")
    if _in_order(want, [e.code for e in got]):
        extra = len(got) - len(want)
        return [passed(reqs[0], reqs, severity, f"{what}: {_digits([e.code for e in got])} in PT {got[0].pt}"
                       + (f" ({extra} more event(s) than sent)" if extra > 0 else ""),
                       [e.first_frame for e in got[:len(want)]])]
    if got:
        seen = f"only {_digits([e.code for e in got])} (frames {', '.join(str(e.first_frame) for e in got[:6])})"
        frames = [e.first_frame for e in got[:4]]
    else:
        rtp = [s for s in trace.rtp if s.src == dut_tx and s.dst == dst]
        seen = "no telephone-event from the DUT to " + dst
        if rtp:
            seen += f" (its RTP carries PT {sorted({pt for s in rtp for pt in s.payload_types})} only"
            seen += f"; the receiver's SDP gave telephone-event PT {receiver_pt})" if receiver_pt is not None else ")"
        if heard_inband:
            seen += f"; our agent heard {' '.join(heard_inband)} as tones in the audio"
        frames = [s.first_frame for s in rtp[:1]] or [sent[0].first_frame]
    return [violation(reqs[0], reqs, severity, what, seen, frames)]


MIN_UPDATES_PER_S = 10        # an event's duration updates: at least one per 100 ms (RFC 4733 2.5.1.2: every ptime)
MIN_DURATION_SHARE = 0.9      # the relayed event lasts at least this share of what our agent sent
END_PACKETS = 3               # RFC 4733 2.5.1.4: the final packet is sent three times


@check
def dtmf_long_press(trace: Trace, *, spec: CallSpec, digits: str, long_digit: str, from_caller: bool
                    ) -> list[Finding]:
    """TC-DTMF-03 (RFC4733-03, RFC4733-04): our agent sends ``digits`` as RFC 4733 events, one of them
    (``long_digit``, the last of its kind) held for seconds. On the other leg, every event the DUT sends for our
    digits ends with its final packet three times with the E bit; and the long press comes out as one event whose
    duration reaches at least :data:`MIN_DURATION_SHARE` of ours, updated all along (at least
    :data:`MIN_UPDATES_PER_S` packets per second of it before the end), not cut short or split."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    src, dut_rx, dut_tx, dst = _ends(spec, from_caller)
    events = trace.media.events()
    want = [_DTMF[d] for d in digits.upper()]
    sent = [e for e in events if e.stream.src == src and e.stream.dst == dut_rx]
    long_code = _DTMF[long_digit.upper()]
    ours = [e for e in sent if e.code == long_code]
    if not _in_order(want, [e.code for e in sent]) or not ours:
        raise_missing(f"our DTMF {_digits(want)} (RFC 4733 events from {src}; the capture shows "
                      f"{_digits([e.code for e in sent])})")
    ours_long = max(ours, key=lambda e: e.duration)
    got = [e for e in events if e.stream.src == dut_tx and e.stream.dst == dst]
    found: list[Finding] = []
    if not _in_order(want, [e.code for e in got]):
        return [violation("RFC4733-03", ["RFC4733-03", "MED-03"], "M",
                          f"the DTMF {_digits(want)} from {src} delivered to {dst} as RFC 4733 events",
                          f"{_digits([e.code for e in got])}", [e.first_frame for e in got[:4]] or
                          [sent[0].first_frame])]
    short_ends = [e for e in got if e.end_count < END_PACKETS]
    what = f"each event the DUT sends to {dst} ending with its final packet {END_PACKETS} times with the E bit"
    if short_ends:
        e = short_ends[0]
        found.append(violation("RFC4733-04", ["RFC4733-04"], "M", what, f"event {_digits([e.code])} at timestamp "
                               f"{e.ts} with {e.end_count} end packet(s)", e.end_frames or e.frames[-1:]))
    else:
        found.append(passed("RFC4733-04", ["RFC4733-04"], "M", f"{what}: {len(got)} events",
                            [got[0].first_frame]))
    theirs = [e for e in got if e.code == long_code and e.first_time >= ours_long.first_time - 0.5]
    want_s = ours_long.duration / 8000
    what = (f"the {want_s:.1f} s press of {long_digit} (our event from frame {ours_long.first_frame}) relayed as one "
            f"event of at least {MIN_DURATION_SHARE * want_s:.1f} s with a duration update at least every "
            f"{1000 // MIN_UPDATES_PER_S} ms")
    if not theirs:
        found.append(violation("RFC4733-03", ["RFC4733-03", "MED-03"], "M", what, "no such event",
                               [ours_long.first_frame]))
        return found
    e = max(theirs, key=lambda x: x.duration)
    updates = len(e.frames) - e.end_count
    split = [x for x in theirs if x is not e and x.first_time <= e.first_time + want_s + 0.5]
    seen = f"{e.duration / 8000:.2f} s in {updates} updates + {e.end_count} end packet(s)"
    if e.duration < MIN_DURATION_SHARE * ours_long.duration or updates < MIN_UPDATES_PER_S * want_s * \
            MIN_DURATION_SHARE or split:
        found.append(violation("RFC4733-03", ["RFC4733-03", "MED-03"], "M", what, seen + (
            f"; split into {len(split) + 1} events" if split else ""),
            [e.first_frame] + [x.first_frame for x in split]))
    else:
        found.append(passed("RFC4733-03", ["RFC4733-03", "MED-03"], "M", f"{what}: {seen}", [e.first_frame]))
    return found


PTIME_MS = 20                 # MED-09: G.711 packetisation Lync assumes (RFC 3551 default)
G711_BYTES_PER_MS = 8


@check
def dut_rtp_timing(trace: Trace, *, spec: CallSpec, agent_views: dict | None = None) -> list[Finding]:
    """TC-MED-02 (MED-09, RFC3550-01): on each leg the DUT's RTP toward our agent is G.711 in 20 ms packets whose
    timestamp advances +160 per packet; its loss and RFC 3550 jitter are recorded (from the capture, and as our
    agent measured it: ``agent_views`` {"caller"|"callee": {"lost", "jitter_ms", "packets"}}). Sequence continuity
    and the timestamp clock are judged by the passive rules RFC3550-01 and RFC3551-01 on every DUT stream."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    found: list[Finding] = []
    for who, dut, ours in (("caller", spec.dut_in_ip, spec.caller_ip), ("callee", spec.dut_out_ip, spec.callee_ip)):
        streams = [s for s in trace.rtp if s.src == dut and s.dst == ours and s.confirmed]
        what = f"G.711 RTP from the DUT to our {who} {ours} in {PTIME_MS} ms packets, timestamp +{PTIME_MS * 8} each"
        if not streams or sum(s.packets for s in streams) < MIN_RTP_PACKETS:
            found.append(violation("MED-09", ["MED-09", "RFC3550-01"], "R", what,
                                   f"{sum(s.packets for s in streams)} RTP packets",
                                   [s.first_frame for s in streams[:1]]
                                   or [routed[1].invite.frame]))
            continue
        s = max(streams, key=lambda x: x.packets)
        pt = s.main_pt
        reading = read_steps(s.by_pt[pt].clock) if pt in G711 else None
        if reading is not None and reading.ok:
            ptime, step = reading.samples / G711_BYTES_PER_MS, reading.step
        else:
            ptime, step = s.typical_payload_len / G711_BYTES_PER_MS, None
        view = (agent_views or {}).get(who)
        stats = (f"{s.packets} packets, {s.lost} lost, jitter {s.jitter_ms:.1f} ms on the wire"
                 + (f"; our agent received {view['packets']}, {view['lost']} lost, jitter {view['jitter_ms']:.1f} ms"
                    if view else ""))
        seen = f"PT {pt}, {ptime:g} ms packets" + (f", timestamp +{step}" if step is not None else "") + f" ({stats})"
        if pt not in G711 or ptime != PTIME_MS or (step is not None and step != PTIME_MS * 8):
            found.append(violation("MED-09", ["MED-09", "RFC3550-01"], "R", what, seen, s.first_frame))
        else:
            found.append(passed("MED-09", ["MED-09", "RFC3550-01"], "R", f"{what}: {seen}", s.first_frame))
    return found


RTCP_MAX_INTERVAL_S = 10.0    # TC-MED-04: RTCP every 5-10 s (RFC 3550 6.2: 5 s minimum, randomised 0.5-1.5)
MIN_RTCP_COMPOUNDS = 2


@check
def dut_rtcp(trace: Trace, *, spec: CallSpec, toward_caller: bool = True) -> list[Finding]:
    """TC-MED-04 (MED-05, RFC3550-03, RFC3550-04): during the call the DUT sends RTCP to our agent on the Mediation
    leg (the caller's side of an OUT call when ``toward_caller``): at least :data:`MIN_RTCP_COMPOUNDS` compounds, never
    more than :data:`RTCP_MAX_INTERVAL_S` apart, nor that long after its RTP began or before it ended. Each compound's
    form (SR/RR first, SDES CNAME) is judged by the passive rule RFC3550-03 and the 30 s watchdog by RFC3550-04; this
    check records the count, the mean interval and the packet types."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    dut, ours = (spec.dut_in_ip, spec.caller_ip) if toward_caller else (spec.dut_out_ip, spec.callee_ip)
    reqs = ["MED-05", "RFC3550-03", "RFC3550-04"]
    rtp = [s for s in trace.rtp if s.src == dut and s.dst == ours and s.confirmed]
    what = (f"RTCP from the DUT to our agent {ours} during its RTP: at least {MIN_RTCP_COMPOUNDS} compounds, never "
            f"more than {RTCP_MAX_INTERVAL_S:g} s apart")
    if not rtp:
        return [violation("MED-05", reqs, "M", what, f"no RTP from the DUT to {ours} to time it by",
                          [routed[1].invite.frame])]
    start, end = min(s.first_time for s in rtp), max(s.last_time for s in rtp)
    first = min(rtp, key=lambda s: s.first_time)
    flows = [f for f in trace.media.rtcp_flows if f.src == dut and f.dst == ours]
    if not flows:
        return [violation("MED-05", reqs, "M", what, f"no RTCP in {end - start:.1f} s of RTP", first.first_frame)]
    f = max(flows, key=lambda x: x.compounds)
    gaps = [(f.first_time - start, f.first_frame, "before the first compound"),
            (f.max_gap, f.max_gap_frame or f.first_frame, "between two compounds"),
            (end - f.last_time, f.last_frame, "after the last compound")]
    gap, frame, where = max(gaps, key=lambda g: g[0])
    mean = (f.last_time - f.first_time) / (f.compounds - 1) if f.compounds > 1 else 0.0
    types = ", ".join(f"{ {200: 'SR', 201: 'RR', 202: 'SDES', 203: 'BYE'}.get(t, t)} x{n}"
                      for t, n in sorted(f.types.items()))
    seen = (f"{f.compounds} compound(s) in {end - start:.1f} s of RTP, mean interval {mean:.1f} s, longest silence "
            f"{gap:.1f} s {where} ({types})")
    if f.compounds < MIN_RTCP_COMPOUNDS or gap > RTCP_MAX_INTERVAL_S:
        return [violation("MED-05", reqs, "M", what, seen, frame)]
    return [passed("MED-05", reqs, "M", f"{what}: {seen}", f.first_frame)]


@check
def no_inband_duplicates(trace: Trace, *, spec: CallSpec, digits: str, from_caller: bool,
                         heard: list) -> list[Finding]:
    """TC-DTMF-05 (RFC4733-05): our agent sends ``digits`` as RFC 4733 events on negotiated telephone-event; the
    DUT passes them on as events and must not also leave (or put) the tones in the audio, or the receiver hears each
    digit twice. ``heard``: [digit, time] of the DTMF tones the receiving agent's Goertzel detector found in the
    DUT's audio (G.711 decoded); the finding cites the DUT's audio stream toward that agent."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    src, dut_rx, dut_tx, dst = _ends(spec, from_caller)
    want = [_DTMF[d] for d in digits.upper()]
    events = trace.media.events()
    sent = [e for e in events if e.stream.src == src and e.stream.dst == dut_rx]
    if not _in_order(want, [e.code for e in sent]):
        raise_missing(f"our DTMF {_digits(want)} (RFC 4733 events from {src}; the capture shows "
                      f"{_digits([e.code for e in sent])})")
    audio = [s for s in trace.rtp if s.src == dut_tx and s.dst == dst and s.main_pt in G711]
    got = [e for e in events if e.stream.src == dut_tx and e.stream.dst == dst]
    what = (f"the DTMF {_digits(want)} reaching {dst} as RFC 4733 events only, no DTMF tone in the DUT's audio to it "
            f"(our agent's Goertzel detector on the decoded G.711)")
    if not audio:
        raise_missing(f"the DUT's G.711 audio to our agent {dst} (nothing to listen to)")
    s = max(audio, key=lambda x: x.packets)
    if heard:
        when = ", ".join(f"{d} at +{t - s.first_time:.2f} s" for d, t in heard[:8])
        return [violation("RFC4733-05", ["RFC4733-05", "MED-03"], "R", what,
                          f"{len(heard)} tone(s) in the audio of the stream from frame {s.first_frame}: {when}"
                          + (f" beside {len(got)} RFC 4733 events" if got else ""), s.first_frame)]
    return [passed("RFC4733-05", ["RFC4733-05", "MED-03"], "R", f"{what}: {len(got)} events, no tone in "
                   f"{s.packets} audio packets", [s.first_frame] + [e.first_frame for e in got[:len(want)]])]


CN_PT = 13


def _lists_cn(media) -> bool:
    return media is not None and any(enc.upper() == "CN" for enc, _c, _ch in media.rtpmap.values())


@check
def comfort_noise_relayed(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-MED-03 (MED-04): both our agents offer comfort noise (PT 13, RFC 3389) and send it in their silences. On
    each leg the DUT's SDP toward our agent keeps CN, and the DUT passes our CN on to the other agent (in the PT
    the receiver's SDP maps to CN) instead of dropping it (the receiver would then hear dead silence) or turning it
    into something the receiver did not accept. The CN payloads' form is judged by the passive rule RFC3389-01."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    found: list[Finding] = []
    for src, dut_rx, dut_tx, dst in (_ends(spec, True), _ends(spec, False)):
        mine = [s for s in trace.rtp if s.src == src and s.dst == dut_rx]
        told = next((s.sdp for s in mine if s.sdp is not None), None)     # the DUT's SDP to our sender
        if told is not None and not _lists_cn(told.media):
            found.append(violation("MED-04", ["MED-04"], "R", f"CN (PT {CN_PT}) kept in the DUT's SDP to {src}, "
                                   "which offered it", f"formats {told.media.formats} without CN (so our agent "
                                   "sends no comfort noise)", told.frame))
            continue
        ours = [s for s in mine if CN_PT in s.by_pt]
        if not ours:
            raise_missing(f"our comfort noise (PT {CN_PT}) from {src}")
        sent = sum(s.by_pt[CN_PT].packets for s in ours)
        theirs = [s for s in trace.rtp if s.src == dut_tx and s.dst == dst]
        what = f"our comfort noise from {src} ({sent} PT {CN_PT} packets) passed on by the DUT to {dst} as CN"
        sdp_ref = next((s.sdp for s in theirs if s.sdp is not None), None)
        if sdp_ref is not None and not _lists_cn(sdp_ref.media):
            found.append(violation("MED-04", ["MED-04"], "R", what, f"the SDP {dst} gave lists no CN "
                                   f"(formats {sdp_ref.media.formats})", sdp_ref.frame))
            continue
        cn_pts = {pt for s in theirs for pt in s.by_pt
                  if pt == CN_PT or (s.sdp is not None and (s.sdp.rtpmap.get(pt) or ("",))[0].upper() == "CN")}
        got = sum(s.by_pt[pt].packets for s in theirs for pt in cn_pts if pt in s.by_pt)
        frames = [s.first_frame for s in theirs[:1]] or [ours[0].first_frame]
        if got == 0:
            pts = sorted({pt for s in theirs for pt in s.payload_types})
            found.append(violation("MED-04", ["MED-04"], "R", what, f"no CN from the DUT to {dst} (its RTP carries "
                                   f"PT {pts})" if theirs else f"no RTP from the DUT to {dst}", frames))
        else:
            found.append(passed("MED-04", ["MED-04"], "R", f"{what}: {got} CN packets", frames))
    return found


@check
def media_at_signalling_address(trace: Trace, *, spec: CallSpec, mediation_is_caller: bool = True
                                ) -> list[Finding]:
    """TC-MED-06 (MED-06, ConcentratedTopology): on the Mediation leg the DUT's SDP (its answer to our caller on an
    OUT call, its offer to our callee on an IN call) names as media address (c=) the address the DUT sends its SIP
    from, and its RTP to our agent comes from that address. Recorded either way (severity R; M for bypass)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, theirs, b = routed
    if mediation_is_caller:
        leg, ms, dut = a, spec.caller_ip, spec.dut_in_ip
        p = a.final(src=dut)
        if p is None or sdp_of(p) is None:
            p = next((x for x in a.responses() if x.src == dut and sdp_of(x) is not None), p)
    else:
        leg, ms, dut, p = b, spec.callee_ip, spec.dut_out_ip, theirs
    sdp = sdp_of(p)
    media = sdp.audio if sdp is not None else None
    conn = media.effective_connection if media is not None else None
    want = f"the DUT's SDP to the Mediation side naming its own signalling address {p.src if p else dut} as c="
    if conn is None:
        return [violation("MED-06", ["MED-06"], "R", want, "no SDP with an audio c= line from the DUT on that leg",
                          p.frame if p is not None else leg.invite.frame)]
    addr = conn.address.split("/")[0]
    rtp = [s for s in trace.rtp if s.dst == ms and s.dport == (_agent_port(trace, leg, ms) or s.dport)
           and s.confirmed and s.src != ms]
    sources = sorted({s.src for s in rtp})
    seen = f"c={addr}, SIP from {p.src}, RTP to our agent from {', '.join(sources) or 'nowhere'}"
    if addr != p.src or (sources and sources != [p.src]):
        return [violation("MED-06", ["MED-06"], "R", want + " and sending its RTP from there", seen, p.frame)]
    return [passed("MED-06", ["MED-06"], "R", f"{want}: {seen}", p.frame)]


def _agent_port(trace: Trace, leg, ours: str) -> int | None:
    """The media port our agent's SDP on ``leg`` announced (to tell its RTP from other traffic to that host)."""
    for p in leg.messages:
        if p.src == ours:
            s = sdp_of(p)
            if s is not None and s.audio is not None:
                return s.audio.port
    return None


LATCH_WITHIN_S = 1.0          # TC-MED-09: the DUT's RTP follows our RTP's source within this time


@check
def rtp_latched(trace: Trace, *, spec: CallSpec, sdp_port: int, source_port: int) -> list[Finding]:
    """TC-MED-09 (MED-07, EnableRTPLatching): our Mediation-side agent (the caller) announces ``sdp_port`` in its SDP
    but sends its RTP from ``source_port`` (as from behind a NAT). Within :data:`LATCH_WITHIN_S` of our first packet
    from there, the DUT's RTP goes to ``source_port`` and no longer to ``sdp_port``."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    ms, dut = spec.caller_ip, spec.dut_in_ip
    ours = [s for s in trace.rtp if s.src == ms and s.sport == source_port and s.dst == dut]
    if not ours:
        raise_missing(f"our RTP from {ms}:{source_port} to the DUT")
    start = min(s.first_time for s in ours)
    first = min(ours, key=lambda s: s.first_time)
    to_source = [s for s in trace.rtp if s.src == dut and s.dst == ms and s.dport == source_port]
    to_sdp = [s for s in trace.rtp if s.src == dut and s.dst == ms and s.dport == sdp_port]
    what = (f"the DUT's RTP to {ms}:{source_port}, where our RTP comes from (frame {first.first_frame}), within "
            f"{LATCH_WITHIN_S:g} s, and no more to the SDP's port {sdp_port} after that")
    reqs = ["MED-07"]
    if not to_source:
        seen = "no RTP to that port" + (f"; it kept sending to {sdp_port} until +"
                                        f"{max(s.last_time for s in to_sdp) - start:.1f} s" if to_sdp else "")
        return [violation("MED-07", reqs, "O", what, seen, [s.first_frame for s in to_sdp[:1]] or first.first_frame)]
    latched = min(s.first_time for s in to_source) - start
    late = [s for s in to_sdp if s.last_time > start + max(latched, 0) + 0.1 and s.last_time > start + LATCH_WITHIN_S]
    seen = f"RTP to {source_port} from +{latched:.2f} s" + (
        f", to {sdp_port} until +{max(s.last_time for s in late) - start:.2f} s" if late else "")
    frame = min(to_source, key=lambda s: s.first_time).first_frame
    if latched > LATCH_WITHIN_S or late:
        return [violation("MED-07", reqs, "O", what, seen, frame)]
    return [passed("MED-07", reqs, "O", f"{what}: {seen}", frame)]


FOLLOW_WITHIN_S = 1.0         # TC-MED-08: the DUT's media follows a re-INVITE within this time (XFR-02)


@check
def media_retargeted(trace: Trace, *, spec: CallSpec, old_port: int, new_port: int) -> list[Finding]:
    """TC-MED-08 (XFR-02, RFC3264-04): our Mediation-side caller re-INVITEs with its media moved from ``old_port`` to
    ``new_port``. Within :data:`FOLLOW_WITHIN_S` of the DUT's 200 to that re-INVITE the DUT's RTP reaches the new
    port, and none goes to the old port after that second."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, _b = routed
    ms, dut = spec.caller_ip, spec.dut_in_ip
    reinvite = next((p for p in a.requests("INVITE")[1:] if p.src == ms and (sdp := sdp_of(p)) is not None
                     and sdp.audio is not None and sdp.audio.port == new_port), None)
    if reinvite is None:
        raise_missing(f"our re-INVITE moving the media to port {new_port}")
    seq = reinvite.msg.cseq.seq if reinvite.msg.cseq else None
    ok = next((p for p in a.responses() if p.src == dut and p.msg.status == 200 and p.time >= reinvite.time
               and p.msg.cseq is not None and p.msg.cseq.seq == seq), None)
    what = (f"the DUT's RTP at our new port {new_port} within {FOLLOW_WITHIN_S:g} s of its 200 to our re-INVITE "
            f"(frame {reinvite.frame}), and none to the old port {old_port} after that")
    reqs = ["XFR-02", "RFC3264-04"]
    if ok is None:
        return [violation("XFR-02", reqs, "M", what, "no 200 from the DUT to our re-INVITE", reinvite.frame)]
    deadline = ok.time + FOLLOW_WITHIN_S
    to_new = [s for s in trace.rtp if s.src == dut and s.dst == ms and s.dport == new_port]
    to_old = [s for s in trace.rtp if s.src == dut and s.dst == ms and s.dport == old_port]
    first_new = min((s.first_time for s in to_new), default=None)
    last_old = max((s.last_time for s in to_old), default=None)
    seen = (f"RTP to {new_port} from " + (f"{first_new - ok.time:+.2f} s" if first_new is not None else "never")
            + f" after the 200 (frame {ok.frame}); to {old_port} until "
            + (f"{last_old - ok.time:+.2f} s" if last_old is not None else "never"))
    frame = min(to_new, key=lambda s: s.first_time).first_frame if to_new else ok.frame
    if first_new is None or first_new > deadline or (last_old is not None and last_old > deadline):
        return [violation("XFR-02", reqs, "M", what, seen, frame)]
    return [passed("XFR-02", reqs, "M", f"{what}: {seen}", frame)]


GLITCH_WINDOW_S = 0.2         # TC-MED-07: the DUT's RTP must not pause this long around the re-INVITE
GLITCH_SPAN_S = (0.6, 1.0)    # looked at from this long before our re-INVITE to this long after the DUT's 200


def _sdp_facts(sdp) -> tuple:
    a = sdp.audio
    conn = a.effective_connection if a is not None else None
    return (sdp.origin.sess_id if sdp.origin else None, sdp.origin.sess_version if sdp.origin else None,
            conn.address if conn else None, a.port if a else None, tuple(a.formats) if a else ())


@check
def reinvite_unchanged(trace: Trace, *, spec: CallSpec) -> list[Finding]:
    """TC-MED-07 (RFC3264-04, SIG-06): our Mediation-side caller re-INVITEs with its SDP unchanged (same o= version).
    The DUT answers 200 with its own SDP unchanged too (same o= session id and version, address, port and formats
    as its first answer: RFC 3264 section 8, nothing changed), and its RTP to our agent goes on without a pause of
    :data:`GLITCH_WINDOW_S` around the exchange (no media glitch; continuity and SSRC: passive RFC3550-01/-02)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    _ours, a, _theirs, _b = routed
    ms, dut = spec.caller_ip, spec.dut_in_ip
    invites = [p for p in a.requests("INVITE") if p.src == ms]
    seqs = sorted({p.msg.cseq.seq for p in invites if p.msg.cseq})
    if len(seqs) < 2:
        raise_missing("our re-INVITE")
    reinvite = next(p for p in invites if p.msg.cseq and p.msg.cseq.seq == seqs[1])

    def ok_to(seq):
        return next((p for p in a.responses() if p.src == dut and p.msg.status == 200 and p.msg.cseq
                     and p.msg.cseq.seq == seq and sdp_of(p) is not None), None)
    first, again = ok_to(seqs[0]), ok_to(seqs[1])
    reqs = ["RFC3264-04", "SIG-06"]
    found: list[Finding] = []
    what = "the DUT's answer to our unchanged re-INVITE unchanged too (o= session id and version, c=, m= port, formats)"
    if first is None or again is None:
        return [violation("RFC3264-04", reqs, "M", what, "no 200 with SDP from the DUT to "
                          + ("our INVITE" if first is None else "our re-INVITE"), reinvite.frame)]
    f1, f2 = _sdp_facts(sdp_of(first)), _sdp_facts(sdp_of(again))
    names = ("o= session id", "o= version", "c=", "m= port", "formats")
    diff = [f"{n} {x} -> {y}" for n, x, y in zip(names, f1, f2) if x != y]
    if diff:
        found.append(violation("RFC3264-04", reqs, "M", what, "; ".join(diff) + f" (first answer frame {first.frame})",
                               again.frame))
    else:
        found.append(passed("RFC3264-04", reqs, "M", f"{what}: o= version {f2[1]}, port {f2[3]} as in frame "
                            f"{first.frame}", again.frame))
    streams = [s for s in trace.rtp if s.src == dut and s.dst == ms and s.confirmed]
    what = (f"the DUT's RTP to our agent going on around the re-INVITE (no {GLITCH_WINDOW_S * 1000:.0f} ms without a "
            f"packet from {GLITCH_SPAN_S[0]:g} s before our re-INVITE to {GLITCH_SPAN_S[1]:g} s after its 200)")
    if not streams:
        found.append(violation("SIG-06", reqs, "M", what, "no RTP from the DUT to our agent", reinvite.frame))
        return found
    s = max(streams, key=lambda x: x.packets)
    t, end = reinvite.time - GLITCH_SPAN_S[0], again.time + GLITCH_SPAN_S[1]
    quiet = []
    while t + GLITCH_WINDOW_S <= end and len(quiet) < 3:
        if s.packets_between(t, t + GLITCH_WINDOW_S) == 0 and s.first_time <= t and s.last_time >= t:
            quiet.append(t - reinvite.time)
        t += GLITCH_WINDOW_S
    if quiet:
        found.append(violation("SIG-06", reqs, "M", what, "no packet in the window(s) starting at "
                               + ", ".join(f"{q:+.1f} s" for q in quiet) + " from our re-INVITE", reinvite.frame))
    else:
        found.append(passed("SIG-06", reqs, "M", f"{what}: {s.packets} packets", s.first_frame))
    return found
