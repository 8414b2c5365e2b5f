"""Media rules (RFC 3550, RFC 3551, RFC 4733, RFC 3711) on what the DUT sends: its RTP streams, its RTCP flows and
its RFC 4733 events, read from the media model (:mod:`sipqual.rtp`).

They follow the registry's pattern (a :class:`~sipqual.rules.registry.Rule` per ID with severity, requirement IDs and
description; a check yields one held or broken :class:`~sipqual.rules.registry.Outcome` per thing it examined), with
their own units: the SIP registry iterates messages, transactions, dialogs and offer/answer exchanges, media rules
iterate streams, RTCP flows and events. :func:`evaluate_media` runs them all.

Only media the DUT sends is judged, and only streams that are real media (a run of consecutive sequence numbers, or
a destination an SDP announced). SDP facts come from the *receiver's* SDP (the one that asked for the stream), as
attached by :meth:`sipqual.rtp.MediaModel.apply_sdp`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Iterator

from ..rtp import G711, STATIC_CLOCK, DtmfEvent, RtcpFlow, RtpStream, mki_len, srtp_tag_len
from ..trace import Trace
from ..verdict import Finding
from .registry import Outcome, Rule, broken, held

RTCP_WATCHDOG_S = 30.0      # Lync/SfB drops a call after 30 s without RTCP (requirements.md MED-05, RFC3550-04)
SIGNALLING_SLACK_S = 0.5    # an SSRC change this close to an SDP exchange counts as caused by it
CLOCK_TOLERANCE = 0.05      # observed timestamp rate within 5 % of the payload type's clock
STATIC_NAMES = {0: "PCMU", 8: "PCMA", 13: "CN"}
DEFAULT_EVENTS = "0-15"     # RFC 4733 section 7.1.1: no fmtp means events 0-15


class MediaScope(str, Enum):
    """What one call of a media rule looks at."""

    RTP_STREAM = "rtp-stream"      # each RTP stream the DUT sent: fn(stream, context)
    RTCP_FLOW = "rtcp-flow"        # each RTCP flow the DUT sent: fn(flow, context)
    DTMF_EVENT = "dtmf-event"      # each RFC 4733 event the DUT sent: fn(event, context)


@dataclass
class MediaContext:
    """What media rules relate a unit to: the DUT's addresses, all streams and flows, and when SDP was exchanged."""

    trace: Trace
    dut: set[str]
    sdp_times: dict[str, list[float]] = field(default_factory=dict)   # media address -> times of SDP naming it
    by_pair: dict[tuple, list[RtpStream]] = field(default_factory=dict)   # (src, sport, dst, dport) -> streams
    rtcp_by_pair: dict[tuple, list[RtcpFlow]] = field(default_factory=dict)   # (src, dst) -> RTCP flows

    def __post_init__(self):
        for _frame, when, sdp in self.trace.sdp_bodies():
            for media in sdp.media:
                conn = media.effective_connection
                if conn is not None:
                    self.sdp_times.setdefault(conn.address.split("/")[0], []).append(when)
        for s in self.trace.media.rtp_streams:
            self.by_pair.setdefault(s.key[:4], []).append(s)
        for f in self.trace.media.rtcp_flows:
            self.rtcp_by_pair.setdefault((f.src, f.dst), []).append(f)

    def units(self, scope: MediaScope) -> list:
        media = self.trace.media
        if scope is MediaScope.RTP_STREAM:
            return [s for s in media.rtp_streams if s.src in self.dut and s.confirmed]
        if scope is MediaScope.RTCP_FLOW:
            return [f for f in media.rtcp_flows if f.src in self.dut]
        return [e for e in media.events() if e.stream.src in self.dut]

    def signalled_between(self, stream: RtpStream, start: float, end: float) -> bool:
        """An SDP naming either end of the stream was exchanged in [start, end] (widened by the slack)."""
        return any(start - SIGNALLING_SLACK_S <= t <= end + SIGNALLING_SLACK_S
                   for addr in (stream.src, stream.dst) for t in self.sdp_times.get(addr, ()))


MEDIA_RULES: dict[str, Rule] = {}


def media_rule(rule_id: str, severity: str, scope: MediaScope, description: str, requirements: Iterable[str] = ()):
    """Declare a media rule (the registry's ``rule`` for media units)."""
    def register(fn: Callable[..., Iterable[Outcome]]):
        if rule_id in MEDIA_RULES:
            raise ValueError(f"media rule {rule_id} declared twice")
        MEDIA_RULES[rule_id] = Rule(rule_id, severity, (rule_id, *requirements), description, scope, fn)
        return fn
    return register


def evaluate_media(trace: Trace, dut_addresses: set[str]) -> Iterator[Finding]:
    """Every outcome of every media rule on what the DUT sent, held ones included, in declaration order."""
    ctx = MediaContext(trace, set(dut_addresses))
    for r in MEDIA_RULES.values():
        for unit in ctx.units(r.scope):
            for outcome in r.check(unit, ctx):
                yield r.finding(outcome)


def _name(s: RtpStream) -> str:
    return f"RTP {s.src}:{s.sport} -> {s.dst}:{s.dport} SSRC 0x{s.ssrc:08x}"


def _ptime_ms(s: RtpStream) -> int:
    return (s.sdp.media.ptime if s.sdp and s.sdp.media.ptime else None) or 20


# ---- RFC 3550 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3550-01", "M", MediaScope.RTP_STREAM, "RTP version 2; sequence number +1 per packet; G.711 "
            "timestamp +8 per ms of packet time (+160 per 20 ms) (5.1)", ["MED-09"])
def rtp_continuity(s: RtpStream, ctx: MediaContext):
    name = _name(s)
    if s.bad_version:
        yield broken(f"RTP version 2 on {name}", f"{len(s.bad_version)} packet(s) of another version",
                     s.bad_version[0])
    gaps = s.discontinuities
    for g in gaps[:3]:
        what = "a sequence restart" if g.kind == "restart" else f"{g.missing} never sent"
        yield broken(f"sequence number {g.expected} next on {name}", f"{g.observed} ({what}; {s.lost} lost in "
                     f"{s.packets} packets)", g.frame)
    if s.duplicates:
        yield broken(f"each sequence number once on {name}", f"{s.duplicates} duplicate(s)", s.first_frame)
    audio = s.by_pt.get(s.main_pt)
    if s.main_pt in G711 and audio and audio.ts_steps:
        want = 8 * _ptime_ms(s)
        step = max(audio.ts_steps, key=audio.ts_steps.get)
        if step != want:
            yield broken(f"timestamp +{want} per {_ptime_ms(s)} ms packet on {name}", f"+{step}", s.first_frame)
    if not (s.bad_version or gaps or s.duplicates):
        order = f" ({s.reordered} reordered on the way)" if s.reordered else ""
        yield held(f"{name}: version 2, {s.packets} packets in sequence{order}", s.first_frame)


@media_rule("RFC3550-02", "R", MediaScope.RTP_STREAM, "one SSRC per stream; a new SSRC only at a signalling event "
            "(re-INVITE, UPDATE, transfer) (5.1, 8)")
def stable_ssrc(s: RtpStream, ctx: MediaContext):
    same_pair = [o for o in ctx.by_pair[s.key[:4]] if o is not s and o.confirmed and o.first_time <= s.first_time]
    if not same_pair:
        yield held(f"one SSRC 0x{s.ssrc:08x} on {s.src}:{s.sport} -> {s.dst}:{s.dport}", s.first_frame)
        return
    prev = max(same_pair, key=lambda o: o.last_time)
    want = f"SSRC 0x{prev.ssrc:08x} kept on {s.src}:{s.sport} -> {s.dst}:{s.dport} without a signalling event"
    if prev.last_time > s.first_time:
        yield broken(want, f"SSRC 0x{s.ssrc:08x} sent at the same time", s.first_frame)
    elif ctx.signalled_between(s, prev.last_time, s.first_time):
        yield held(f"SSRC 0x{s.ssrc:08x} replaced 0x{prev.ssrc:08x} at an SDP exchange", s.first_frame)
    else:
        yield broken(want, f"SSRC 0x{s.ssrc:08x} from here, no SDP exchanged in between", s.first_frame)


@media_rule("RFC3550-03", "M", MediaScope.RTCP_FLOW, "RTCP compound packets start with SR or RR and carry an SDES "
            "CNAME (6.1)", ["MED-02"])
def rtcp_compound(f: RtcpFlow, ctx: MediaContext):
    name = f"RTCP {f.src}:{f.sport} -> {f.dst}:{f.dport}"
    if f.bad_start is not None:
        yield broken(f"every compound on {name} starting with SR (200) or RR (201)", "another packet type first",
                     f.bad_start)
    if f.no_cname is not None:
        yield broken(f"an SDES CNAME in every compound on {name}", "a compound without one", f.no_cname)
    if f.bad_start is None and f.no_cname is None:
        readable = f.compounds - f.opaque
        yield held(f"{name}: {f.compounds} compounds start with SR/RR"
                   + (f", {readable} readable ones carry CNAME {sorted(f.cnames)}" if readable else
                      " (SRTCP: the rest is encrypted)"), f.first_frame)


@media_rule("RFC3550-04", "M", MediaScope.RTP_STREAM, f"RTCP at most every {RTCP_WATCHDOG_S:.0f} s while the DUT "
            "sends RTP (6.2; Lync drops a call after 30 s without RTCP)", ["MED-05"])
def rtcp_interval(s: RtpStream, ctx: MediaContext):
    if s.last_time - s.first_time <= RTCP_WATCHDOG_S:
        return                        # too short to judge
    flows = [f for f in ctx.rtcp_by_pair.get((s.src, s.dst), ())
             if f.sport in (s.sport + 1, s.sport)]      # RFC 3550 port + 1, or rtcp-mux (RFC 5761)
    want = f"RTCP from {s.src} at least every {RTCP_WATCHDOG_S:.0f} s during {_name(s)}"
    if not flows:
        yield broken(want, f"no RTCP in {s.last_time - s.first_time:.0f} s of RTP", s.first_frame)
        return
    f = flows[0]
    gaps = [(f.first_time - s.first_time, f.first_frame), (f.max_gap, f.max_gap_frame),
            (s.last_time - f.last_time, s.last_frame)]
    gap, frame = max(gaps, key=lambda g: g[0])
    if gap > RTCP_WATCHDOG_S:
        yield broken(want, f"{gap:.1f} s without RTCP", frame)
    else:
        yield held(f"RTCP at most {gap:.1f} s apart during {_name(s)}", f.first_frame)


# ---- RFC 3551 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3551-01", "M", MediaScope.RTP_STREAM, "static payload types 0 PCMU, 8 PCMA, 13 CN run an 8000 Hz "
            "RTP clock; an SDP does not remap them (6)", ["MED-01"])
def static_payload_types(s: RtpStream, ctx: MediaContext):
    for pt in sorted(set(s.payload_types) & STATIC_NAMES.keys()):
        mapped = s.sdp.rtpmap.get(pt) if s.sdp else None
        if mapped and (mapped[0].upper() != STATIC_NAMES[pt] or mapped[1] != STATIC_CLOCK[pt]):
            yield broken(f"PT {pt} meaning {STATIC_NAMES[pt]}/8000", f"a=rtpmap:{pt} {mapped[0]}/{mapped[1]} in the "
                         "SDP", s.sdp.frame)
        clock = s.by_pt[pt].observed_clock()
        if clock is None:
            continue                  # too few packets of this type to measure
        want = f"PT {pt} ({STATIC_NAMES[pt]}) timestamps advancing 8000 per second on {_name(s)}"
        if abs(clock - 8000) > 8000 * CLOCK_TOLERANCE:
            yield broken(want, f"{clock:.0f} per second", s.first_frame)
        else:
            yield held(want, s.first_frame)


# ---- RFC 4733 -----------------------------------------------------------------------------------------------------

def _event_range(e: DtmfEvent) -> set[int]:
    fmtp = e.stream.sdp.media.fmtp.get(e.pt) if e.stream.sdp else None
    codes: set[int] = set()
    for part in (fmtp or DEFAULT_EVENTS).split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (hi.isdigit() or not hi):
            codes.update(range(int(lo), int(hi or lo) + 1))
    return codes


@media_rule("RFC4733-02", "M", MediaScope.DTMF_EVENT, "event codes within the negotiated events (0-9, 10 *, 11 #, "
            "12-15 A-D, 16 flash), one code per event (2.3)", ["MED-03"])
def event_codes(e: DtmfEvent, ctx: MediaContext):
    allowed = _event_range(e)
    span = f"{min(allowed)}-{max(allowed)}" if allowed else "none"
    want = f"an event code in {span} (the telephone-event fmtp) with one code per event at timestamp {e.ts}"
    if e.codes - allowed or len(e.codes) > 1:
        yield broken(want, f"code(s) {sorted(e.codes)}", e.first_frame)
    else:
        yield held(want, e.first_frame)


@media_rule("RFC4733-03", "M", MediaScope.DTMF_EVENT, "the packets of one event share its timestamp, the duration "
            "only grows, and the first packet has the marker bit (2.5.1)", ["MED-03"])
def event_packets(e: DtmfEvent, ctx: MediaContext):
    want = f"event {e.code} at timestamp {e.ts} starting with the marker bit set"
    if not e.marker_first:
        yield broken(want, "marker bit clear on its first packet", e.first_frame)
    regress = e.duration_regressions
    if regress:
        yield broken(f"event {e.code} duration growing packet by packet", "a shorter duration again", regress[0])
    if e.marker_first and not regress:
        yield held(f"event {e.code}: marker first, {len(e.frames)} packets on timestamp {e.ts}, duration "
                   f"{e.duration}", e.first_frame)


@media_rule("RFC4733-04", "R", MediaScope.DTMF_EVENT, "the end packet (E bit) is sent three times, and E stays set "
            "once set (2.5.1.4)", ["MED-03"])
def event_end(e: DtmfEvent, ctx: MediaContext):
    if e.end_cleared_frame is not None:
        yield broken(f"E bit kept set after the first end packet of event {e.code}", "E cleared again",
                     e.end_cleared_frame)
    want = f"3 end packets for event {e.code} at timestamp {e.ts}"
    if e.end_count < 3:
        yield broken(want, f"{e.end_count}", e.end_frames[-1] if e.end_frames else e.frames[-1])
    elif e.end_cleared_frame is None:
        yield held(want, e.end_frames[0])


# ---- RFC 3711 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3711-01", "M", MediaScope.RTP_STREAM, "where RTP/SAVP was negotiated, packets are SRTP: no "
            "cleartext G.711, payload = codec frame + MKI + authentication tag (3.1)", ["SRTP-04"])
def srtp_packets(s: RtpStream, ctx: MediaContext):
    if s.sdp is None or not s.sdp.srtp:
        return
    name, neg = _name(s), f"RTP/SAVP negotiated in frame {s.sdp.frame}"
    if s.looks_cleartext_g711:
        yield broken(f"SRTP on {name} ({neg})", f"cleartext G.711 ({s.typical_payload_len}-byte payloads, "
                     f"{s.payload_entropy:.1f} bits/byte)", s.first_frame)
        return
    tag = srtp_tag_len(s.sdp.media)
    if s.main_pt in G711 and tag is not None:
        frame_bytes = 8 * _ptime_ms(s)
        want = frame_bytes + mki_len(s.sdp.media) + tag
        got = s.typical_payload_len
        expected = (f"{want}-byte SRTP payloads on {name} ({frame_bytes} of G.711 + {tag}-byte tag"
                    + (f" + {mki_len(s.sdp.media)}-byte MKI" if mki_len(s.sdp.media) else "") + ")")
        if got != want:
            yield broken(expected, f"{got} bytes", s.first_frame)
            return
        yield held(expected, s.first_frame)
    else:
        yield held(f"encrypted-looking payloads on {name} ({s.payload_entropy:.1f} bits/byte)", s.first_frame)
