"""Media rules (RFC 3264 directions, RFC 3550, RFC 3551, RFC 3389, RFC 4733, RFC 3711) on what the DUT sends: its RTP
streams, its RTCP flows and its RFC 4733 events, read from the media model (:mod:`sipqual.rtp`).

They follow the registry's pattern (a :class:`~sipqual.rules.registry.Rule` per ID with severity, requirement IDs and
description; a check yields one held or broken :class:`~sipqual.rules.registry.Outcome` per thing it examined), with
their own units: the SIP registry iterates messages, transactions, dialogs and offer/answer exchanges, media rules
iterate streams, RTCP flows and events. :func:`evaluate_media` runs them all. This module holds the table, the context
and the RFC 3264/3550/3551/3389 rules; the RFC 4733 rules are in :mod:`.media_events`, the RFC 3711 ones in
:mod:`.media_srtp`.

Only media the DUT sends is judged, and only streams that are real media (a run of consecutive sequence numbers, or
a destination an SDP announced). SDP facts come from the *receiver's* SDP (the one that asked for the stream), as
attached by :meth:`sipqual.rtp.MediaModel.apply_sdp`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable, Iterable, Iterator

from ..rtcp import RtcpFlow
from ..rtp import G711, SDP_SLACK, STATIC_CLOCK, RtpStream, srtp_trailers
from ..rtpclock import WINDOW_S, read_steps
from ..sdp import Media
from ..trace import Trace
from ..verdict import Finding
from .registry import Outcome, Rule, broken, held

RTCP_WATCHDOG_S = 30.0      # Lync/SfB drops a call after 30 s without RTCP (requirements.md MED-05, RFC3550-04)
SIGNALLING_SLACK_S = 0.5    # an SSRC change this close to an SDP exchange counts as caused by it
ARRIVAL_TOLERANCE = 0.2     # RFC3551-01's secondary signal: a median arrival rate this far off (a wrong sample rate
#                             is 2x or 6x off; pacing, drift and bursts are a few %) while every step fits its payload
STATIC_NAMES = {0: "PCMU", 8: "PCMA", 13: "CN"}
BYE_QUIET_S = 2.0           # a source left when the capture goes on this long (at least) without its RTP and RTCP
RTCP_NOMINAL_S = 5.0        # RFC 3550 6.2 minimum RTCP interval, for a flow whose own interval is unknown
HOLD_RTCP_S = 15.0          # a hold this long must show RTCP from the DUT inside it (RFC 3264 5.1, RFC 3550 6)


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
    by_source: dict[tuple, list[RtpStream]] = field(default_factory=dict)   # (src, sport, SSRC) -> streams
    rtcp_by_pair: dict[tuple, list[RtcpFlow]] = field(default_factory=dict)   # (src, dst) -> RTCP flows
    # (address, port) of an m= line -> (frame, time, media section) of every SDP announcing it, in time order
    sdp_by_addr: dict[tuple[str, int], list[tuple[int, float, Media]]] = field(default_factory=dict)
    start: float = 0.0          # time of the first packet the reader kept (SIP, RTP or RTCP)
    end: float = 0.0            # time of the last one
    session_ends: list[tuple[float, int, str]] = field(default_factory=list)   # SIP BYE/CANCEL to or from the DUT
    _times: dict[tuple, list[float]] = field(default_factory=dict)     # memo of _sdp_times
    _changes: dict[tuple, tuple[list, list]] = field(default_factory=dict)   # memo of direction_changes
    _inputs: dict[int, list[RtpStream]] | None = None   # memo of relay_input: streams our side sent the DUT, per PT

    def __post_init__(self):
        for frame, when, sdp in self.trace.sdp_bodies():
            for media in sdp.media:
                conn = media.effective_connection
                if conn is not None:
                    addr = conn.address.split("/")[0]
                    self.sdp_times.setdefault(addr, []).append(when)
                    if media.port > 0:
                        self.sdp_by_addr.setdefault((addr, media.port), []).append((frame, when, media))
        for entries in self.sdp_by_addr.values():
            entries.sort(key=lambda e: (e[1], e[0]))
        for s in self.trace.media.rtp_streams:
            self.by_pair.setdefault(s.key[:4], []).append(s)
            self.by_source.setdefault((s.src, s.sport, s.ssrc), []).append(s)
        for f in self.trace.media.rtcp_flows:
            self.rtcp_by_pair.setdefault((f.src, f.dst), []).append(f)
        media = self.trace.media
        sip_times = [p.time for p in self.trace.sip]
        firsts = sip_times[:1] and [min(sip_times)]
        lasts = sip_times[:1] and [max(sip_times)]
        firsts += [s.first_time for s in media.streams.values()] + [f.first_time for f in media.rtcp.values()]
        lasts += [s.last_time for s in media.streams.values()] + [f.last_time for f in media.rtcp.values()]
        self.start, self.end = (min(firsts), max(lasts)) if firsts else (0.0, 0.0)
        self.session_ends = [(p.time, p.frame, p.msg.method) for p in self.trace.sip
                             if p.msg.is_request and p.msg.method in ("BYE", "CANCEL")
                             and (p.src in self.dut or p.dst in self.dut)]

    def units(self, scope: MediaScope) -> list:
        media = self.trace.media
        if scope is MediaScope.RTP_STREAM:
            return [s for s in media.rtp_streams if s.src in self.dut and s.confirmed]
        if scope is MediaScope.RTCP_FLOW:
            return [f for f in media.rtcp_flows if f.src in self.dut]
        return [e for e in media.events() if e.stream.src in self.dut]

    def media_at(self, addr: str, port: int, when: float) -> tuple[int, float, Media] | None:
        """The latest SDP media section announcing ``addr:port`` made by ``when`` (with the SDP slack), else the
        first one made after."""
        entries = self.sdp_by_addr.get((addr, port))
        if not entries:
            return None
        i = bisect_right(self._sdp_times(addr, port), when + SDP_SLACK)
        return entries[i - 1] if i else entries[0]

    def _sdp_times(self, addr: str, port: int) -> list[float]:
        key = (addr, port)
        if key not in self._times:
            self._times[key] = [e[1] for e in self.sdp_by_addr.get(key, ())]
        return self._times[key]

    def direction_changes(self, addr: str, port: int, forbidding: frozenset, lo: float, hi: float) -> list[tuple]:
        """The SDPs announcing ``addr:port`` that change whether its direction is in ``forbidding`` (the first SDP
        always counts), as (time, frame, address, direction, forbids), limited to what matters in [lo, hi]: the last
        change made by ``lo`` (the state then), every change in between, and the first one after ``hi`` (which ends
        a period still open at ``hi``). One address may be announced thousands of times (an agent reusing its media
        port), so the changes are computed once per address and looked up by time."""
        key = (addr, port, forbidding)
        if key not in self._changes:
            changes, state = [], None
            for frame, when, m in self.sdp_by_addr.get((addr, port), ()):
                direction = m.direction
                forbids = direction in forbidding
                if forbids != state:
                    changes.append((when, frame, addr, direction, forbids))
                    state = forbids
            self._changes[key] = (changes, [c[0] for c in changes])
        changes, times = self._changes[key]
        first = max(bisect_right(times, lo) - 1, 0)
        return changes[first:bisect_right(times, hi) + 1]

    def flow_streams(self, f: RtcpFlow) -> list[RtpStream]:
        """The real RTP streams an RTCP flow reports on: same addresses, RTP port one below (RFC 3550 section 11)
        or the same port (rtcp-mux, RFC 5761)."""
        pairs = ((f.src, f.sport - 1, f.dst, f.dport - 1), (f.src, f.sport, f.dst, f.dport))
        return [s for pair in pairs for s in self.by_pair.get(pair, ()) if s.confirmed]

    def stream_flows(self, s: RtpStream) -> list[RtcpFlow]:
        return [f for f in self.rtcp_by_pair.get((s.src, s.dst), ()) if f.sport in (s.sport + 1, s.sport)]

    def relay_input(self, s: RtpStream) -> RtpStream | None:
        """The stream our side sent the DUT that the DUT most likely relayed as ``s``, if any: sent to a DUT address
        from another address than ``s``'s receiver and to another address than ``s``'s source (the other leg, not
        the reply on this one), with the same main payload type, starting no later than ``s`` (with the signalling
        slack), overlapping at least half of the shorter of the two, and with a packet count within 20 % (or 5
        packets). A B2BUA may rewrite SSRC, sequence numbers and timestamps, so none of those is compared; of
        several, the closest in count, then in start. Only asked about streams that show an anomaly."""
        if self._inputs is None:
            self._inputs = {}
            for c in self.trace.media.rtp_streams:      # in order of their first packet
                if c.src not in self.dut and c.dst in self.dut and c.confirmed:
                    self._inputs.setdefault(c.main_pt, []).append(c)
        candidates = self._inputs.get(s.main_pt, [])
        best, best_key = None, None
        for c in candidates[:bisect_right([c.first_time for c in candidates], s.first_time + SIGNALLING_SLACK_S)]:
            if (c.src, c.sport) == (s.dst, s.dport) or (c.dst, c.dport) == (s.src, s.sport):
                continue
            overlap = min(c.last_time, s.last_time) - max(c.first_time, s.first_time)
            if overlap < 0.5 * min(c.last_time - c.first_time, s.last_time - s.first_time) \
                    or abs(c.packets - s.packets) > max(5, s.packets // 5):
                continue
            key = (abs(c.packets - s.packets), abs(c.first_time - s.first_time))
            if best_key is None or key < best_key:
                best, best_key = c, key
        return best

    def t(self, when: float) -> str:
        """A capture time as seconds from the capture's first packet."""
        return f"t={when - self.start:.1f} s"

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


def _overheads(s: RtpStream) -> tuple[int, ...]:
    """Payload bytes that may not be samples: none (RTP/AVP, or cleartext sent despite RTP/SAVP, which RFC3711-01
    judges), and on RTP/SAVP the tag and MKI of each of the receiver's a=crypto lines (the sender uses the one the
    answer accepted), or both usual tag sizes where SRTP has no a=crypto (DTLS-SRTP) or no SDP is seen."""
    if s.sdp is not None and not s.sdp.srtp:
        return (0,)
    pairs = srtp_trailers(s.sdp.media) if s.sdp is not None else []
    return (0, *dict.fromkeys(t + m for t, m in pairs)) if pairs else (0, 10, 4)


# ---- RFC 3264 -----------------------------------------------------------------------------------------------------

@dataclass
class _Forbidden:
    """A time span in which negotiated directions forbid a stream: from the SDP that forbade it (``start``) to the
    SDP that allowed it again (``end``, None while the capture ends first)."""

    start: float
    frame: int
    who: str                    # the address whose SDP forbade it
    direction: str
    end: float | None = None
    end_frame: int | None = None


RECEIVER_FORBIDS = frozenset({"sendonly", "inactive"})   # the receiver's SDP: it will not receive
SENDER_FORBIDS = frozenset({"recvonly", "inactive"})     # the DUT's own SDP: it will not send


def _forbidden_periods(s: RtpStream, ctx: MediaContext) -> list[_Forbidden]:
    """When the DUT must not send ``s``: while the receiver's latest SDP for the stream's destination says sendonly
    or inactive, or the DUT's own latest SDP for its source address says recvonly or inactive (RFC 3264 5.1, 6.1)."""
    lo, hi = s.first_time - SIGNALLING_SLACK_S, s.last_time + SIGNALLING_SLACK_S
    changes = sorted(ctx.direction_changes(s.dst, s.dport, RECEIVER_FORBIDS, lo, hi)
                     + ctx.direction_changes(s.src, s.sport, SENDER_FORBIDS, lo, hi))
    state = {s.dst: False, s.src: False}
    periods: list[_Forbidden] = []
    for when, frame, who, direction, forbids in changes:
        before = any(state.values())
        state[who] = forbids
        if not before and forbids:
            periods.append(_Forbidden(when, frame, who, direction))
        elif before and not any(state.values()):
            periods[-1].end, periods[-1].end_frame = when, frame
    return periods


def _rtcp_inside(f: RtcpFlow, a: float, b: float) -> bool | None:
    """Whether flow ``f`` sent a compound between times a and b, from its first/last times and its longest gap
    (None when those cannot tell)."""
    if f.last_time < a or f.first_time > b:
        return False
    if a <= f.first_time <= b or a <= f.last_time <= b or f.max_gap < b - a:
        return True
    if f.max_gap_end - f.max_gap <= a and f.max_gap_end >= b:
        return False
    return None


@media_rule("RFC3264-06", "R", MediaScope.RTP_STREAM, "no RTP in a direction the negotiated attributes forbid (the "
            "receiver said sendonly/inactive, or the DUT said recvonly/inactive); RTCP keeps flowing meanwhile "
            "(5.1, 6.1)", ["MED-05"])
def direction_respected(s: RtpStream, ctx: MediaContext):
    """Forbidden periods come from every SDP in the capture naming the stream's destination (the receiver's
    sendonly/inactive) or its source (the DUT's recvonly/inactive), by address and port, whatever dialog carried
    them: a period starts SIGNALLING_SLACK_S after the SDP that forbids and ends at the next SDP for either address
    that allows again (less the slack). An SDP in a request that was then rejected still counts (no transaction
    analysis here), and a hold by ``c=0.0.0.0`` names no address, so only the DUT's answer to it can forbid.
    Activity comes from the stream's runs of packets (rtp.Activity, split at silences over rtp.ACTIVITY_GAP): a run
    reaching into a period is a violation. Runs past the model's cap are not split, so a period they cover is not
    judged. RTCP half: for a period closed by an allowing SDP and longer than HOLD_RTCP_S, the DUT's RTCP flow for
    the stream (if it sends RTCP at all) must have a compound inside it."""
    runs = s.activity
    for p in _forbidden_periods(s, ctx):
        start = p.start + SIGNALLING_SLACK_S
        end = (p.end if p.end is not None else ctx.end + 1.0) - SIGNALLING_SLACK_S
        if end <= start or p.start > s.last_time + SIGNALLING_SLACK_S \
                or (p.end is not None and p.end < s.first_time - SIGNALLING_SLACK_S):
            continue                  # too short to judge, or outside this stream's life
        said = f"{p.who} said {p.direction} in frame {p.frame}"
        where = f"{s.dst}:{s.dport}" + (f" from {s.src}:{s.sport}" if p.who == s.src else "")
        inside = [r for r in runs if r.start <= end and r.end >= start]
        if inside:
            r = inside[0]
            if r.open_ended and r.start < start:
                continue              # the capped last run may hide a silence: cannot tell
            sent = (f"{r.packets} packets from frame {r.first_frame} ({ctx.t(r.start)}) to {ctx.t(r.end)}, during "
                    f"{ctx.t(start)}-" + (ctx.t(p.end) if p.end is not None else "the end"))
            yield broken(f"no RTP to {where} after {said}", sent, r.first_frame)
        else:
            until = f" until frame {p.end_frame}" if p.end_frame is not None else ""
            yield held(f"no RTP to {where} while {said}{until} ({_name(s)})", p.frame)
        if p.end is None or p.end - p.start < HOLD_RTCP_S:
            continue
        for f in ctx.stream_flows(s)[:1]:
            sent = _rtcp_inside(f, start, end)
            want = f"RTCP on {_rtcp_name(f)} kept flowing while {said} ({ctx.t(p.start)}-{ctx.t(p.end)})"
            if sent is True:
                yield held(want, p.frame)
            elif sent is False and f.first_time < start and f.last_time > end:
                yield broken(want, f"no RTCP for {f.max_gap:.1f} s, from {ctx.t(f.max_gap_end - f.max_gap)} to "
                             f"{ctx.t(f.max_gap_end)}", f.max_gap_frame)
            elif sent is False:
                yield broken(want, f"no RTCP from {ctx.t(start)} to {ctx.t(end)}", p.frame)


# ---- RFC 3550 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3550-01", "M", MediaScope.RTP_STREAM, "RTP version 2; sequence number +1 per packet (5.1); STUN, "
            "DTLS, ZRTP and TURN sharing the port are told apart first (RFC 7983) and are not RTP", ["MED-09"])
def rtp_continuity(s: RtpStream, ctx: MediaContext):
    """Mandatory: a receiver drops packets of another version, and sequence gaps, restarts and duplicates are lost
    or repeated audio. Packets on the stream's address pair whose first byte says STUN (0-3), ZRTP (16-19), DTLS
    (20-63) or TURN channel data (64-79) are not RTP of another version: the media model takes them off first
    (sipqual.demux) and this rule only names their counts. A gap whose sequence numbers the same source sent to
    another address meanwhile (_sent_elsewhere) is retargeted media, not loss. Where the DUT relays, loss, restarts
    and duplicates matched (at least) in the stream our side sent it on the other leg (MediaContext.relay_input)
    came from our side: a held note naming that stream, not a finding. The timestamp step is not judged
    here: how far the timestamp moves per packet is the clock (RFC3551-01, by payload size), and a=ptime is only a
    hint to the sender (RFC 4566 6), so a 20 ms stream under a=ptime:30 is legal; the packet time seen is recorded
    (MED-09)."""
    name = _name(s)
    if s.bad_version:
        yield broken(f"RTP version 2 on {name}", f"{len(s.bad_version)} packet(s) of another version (first byte in "
                     "no RFC 7983 range)", s.bad_version[0])
    moved = {id(g): o for g in s.discontinuities if (o := _sent_elsewhere(s, g, ctx)) is not None}
    gaps = [g for g in s.discontinuities if id(g) not in moved]
    lost = s.lost - sum(g.missing for g in s.discontinuities if id(g) in moved)
    duplicates = s.duplicates
    twin = ctx.relay_input(s) if gaps or duplicates else None
    restarts = sum(1 for g in gaps if g.kind == "restart")
    if twin is not None and twin.lost >= lost and twin.restarts >= restarts and twin.duplicates >= duplicates:
        yield held(f"{name}: {lost} lost, {restarts} restart(s), {duplicates} duplicate(s), as in {_name(twin)} "
                   f"which our side sent the DUT on its other leg ({twin.lost} lost, {twin.restarts} restart(s), "
                   f"{twin.duplicates} duplicate(s)): relayed from our side, not the DUT's",
                   gaps[0].frame if gaps else s.first_frame)
        return
    for g in gaps[:3]:
        what = "a sequence restart" if g.kind == "restart" else f"{g.missing} never sent"
        yield broken(f"sequence number {g.expected} next on {name}", f"{g.observed} ({what}; {lost} lost in "
                     f"{s.packets} packets)", g.frame)
    if duplicates:
        yield broken(f"each sequence number once on {name}", f"{duplicates} duplicate(s)", s.first_frame)
    if not (s.bad_version or gaps or duplicates):
        notes = [f"{s.reordered} reordered on the way"] if s.reordered else []
        notes += [f"sequence {g.expected}..{(g.observed - 1) & 0xFFFF} went to {o.dst}:{o.dport} meanwhile (frames "
                  f"{o.first_frame}-{o.last_frame}), not lost" for g in s.discontinuities if (o := moved.get(id(g)))]
        notes += [f"{d.summary()} demultiplexed (RFC 7983) on {a}:{ap} -> {b}:{bp}"
                  for (a, ap, b, bp), d in ctx.trace.media.demuxed_on(*s.key[:4])]
        packet = _packet_time(s)
        if packet:
            notes.append(packet)
        yield held(f"{name}: version 2, {s.packets} packets in sequence" + (f" ({'; '.join(notes)})" if notes else ""),
                   s.first_frame)


def _sent_elsewhere(s: RtpStream, g, ctx: MediaContext) -> RtpStream | None:
    """The stream of the same source (address, port, SSRC) to another destination that carried exactly the sequence
    numbers missing in gap ``g`` of ``s``, between ``s``'s start and the gap: media retargeted by an SDP and back
    (a real Cisco hold/resume does this), not loss. A gap covered by several such streams is still counted."""
    if g.kind != "gap":
        return None
    for o in ctx.by_source.get((s.src, s.sport, s.ssrc), ()):
        if (o.dst, o.dport) != (s.dst, s.dport) and s.first_frame < o.first_frame and o.last_frame < g.frame \
                and o.first_seq == g.expected and (o.max_seq + 1) & 0xFFFF == g.observed:
            return o
    return None


def _packet_time(s: RtpStream) -> str:
    """The packet time a G.711 stream used, from its steps, and the receiver's a=ptime hint (recorded, MED-09)."""
    reading = read_steps(s.by_pt[s.main_pt].clock, _overheads(s)) if s.main_pt in G711 else None
    if reading is None or not reading.ok:
        return ""
    hint = s.sdp.media.ptime if s.sdp and s.sdp.media.ptime else None
    return f"{reading.step / 8:g} ms packets (+{reading.step})" + \
        (f", a=ptime:{hint} in the receiver's SDP is a hint" if hint else "")


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
    flows = ctx.stream_flows(s)      # RFC 3550 port + 1, or rtcp-mux (RFC 5761)
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


def _rtcp_name(f: RtcpFlow) -> str:
    return f"RTCP {f.src}:{f.sport} -> {f.dst}:{f.dport}"


def _source_left(f: RtcpFlow, end: float, ctx: MediaContext) -> str | None:
    """Why the source of ``f`` is known to have left after its RTP ended at ``end``, or None (the capture may have
    stopped while it still ran): the capture goes on without its RTP and RTCP for longer than 1.5 of its RTCP
    intervals (and at least BYE_QUIET_S), or a SIP BYE/CANCEL to or from the DUT came after its last RTP packet, no
    periodic RTCP followed it, and the capture goes on for BYE_QUIET_S after it (time for the RTCP BYE to show)."""
    interval = (f.last_time - f.first_time) / (f.compounds - 1) if f.compounds > 1 else RTCP_NOMINAL_S
    quiet = ctx.end - max(end, f.last_time)
    if quiet >= max(BYE_QUIET_S, 1.5 * interval):
        return f"the capture goes on for {quiet:.1f} s without its RTP or RTCP"
    for when, frame, method in ctx.session_ends:
        if when >= end - SIGNALLING_SLACK_S and f.last_time <= when + RTCP_NOMINAL_S and ctx.end - when >= BYE_QUIET_S:
            return f"SIP {method} in frame {frame}"
    return None


@media_rule("RFC3550-05", "R", MediaScope.RTCP_FLOW, "an RTCP BYE when a source leaves: after the last RTP packet "
            "of a stream that ended within the capture (6.3.7, 6.6)")
def rtcp_bye(f: RtcpFlow, ctx: MediaContext):
    """Judged per RTCP flow of the DUT, against the latest-ending RTP stream it reports on (RTP port one below, or
    the same port with rtcp-mux): held when the flow carried a BYE at or after that stream's last packet (less the
    signalling slack). Broken only when the source is known to have left (:func:`_source_left`); a capture that
    stops while the media still runs says nothing. An SRTCP flow (compounds that do not parse past the first
    packet) is not judged without a visible BYE: SRTCP encrypts everything after the first packet's 8 header bytes
    (RFC 3711 3.4), so a BYE in it cannot be seen, and its absence proves nothing."""
    streams = ctx.flow_streams(f)
    if not streams:
        return                        # RTCP without RTP of its own: no source end to relate a BYE to
    last = max(streams, key=lambda s: (s.last_time, s.last_frame))
    bye = next((b for b in reversed(f.byes) if b[1] >= last.last_time - SIGNALLING_SLACK_S), None)
    if bye is not None:
        named = f" naming SSRC {', '.join(f'0x{x:08x}' for x in bye[2])}" if bye[2] else ""
        yield held(f"an RTCP BYE{named} on {_rtcp_name(f)} after the last packet of {_name(last)}", bye[0])
        return
    if f.opaque:
        return                        # SRTCP: a BYE would be encrypted
    why = _source_left(f, last.last_time, ctx)
    if why is not None:
        yield broken(f"an RTCP BYE on {_rtcp_name(f)} when {_name(last)} ended ({why})",
                     "no RTCP BYE after the stream's last packet", last.last_frame)


# ---- RFC 3551 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3551-01", "M", MediaScope.RTP_STREAM, "static payload types 0 PCMU, 8 PCMA, 13 CN run an 8000 Hz "
            "RTP clock: a G.711 timestamp advances by the samples each packet carries (one per payload byte); an SDP "
            "does not remap them (6)", ["MED-01"])
def static_payload_types(s: RtpStream, ctx: MediaContext):
    """Mandatory: a Mediation Server plays PT 0/8 at 8000 Hz, so timestamps on another clock are audio at the wrong
    speed or a jitter buffer that never settles.

    Judged from the packets themselves (sipqual.rtpclock): the timestamp step per sequence step against the payload
    size of the packet before it (G.711: one sample per byte, less the SRTP tag and MKI of the receiver's a=crypto
    suite). Held when at least half of the steps read advance by exactly their payload's samples; broken when most
    do not, quoting the most frequent step (e.g. +320 per 160-byte payload: a 16000 Hz clock) and its first frame.
    Arrival times are only a secondary signal: the median rate of steady rtpclock.WINDOW_S-second windows (at least
    rtpclock.MIN_WINDOWS of them), which breaks the rule only when the steps show no wrong clock (most fit their
    payload, or too few could be read) yet the stream runs more than ARRIVAL_TOLERANCE off 8000 per second: samples
    made at another rate, e.g. 16 kHz audio sent as PCMU in 320-byte packets every 20 ms.
    It deliberately does not claim anything from a short or bursty arrival pattern: a relay buffering 120 ms and
    then sending 7 packets at once, or a sender catching up, moves timestamps against arrival time without any
    clock being wrong, and that is jitter (the receiver's buffer), not RFC 3551.

    Where the DUT relays (an SBC or B2BUA forwarding what our agent sent it on the other leg, with SSRC, sequence
    numbers and timestamps possibly rewritten), an anomaly that is also in the stream our side sent the DUT
    (MediaContext.relay_input: same payload type, overlapping in time, similar packet count, another address) is
    ours, and is recorded as a held note naming that stream, never a finding against the DUT. Comfort noise (PT 13)
    is judged on its rtpmap only: a CN packet covers a silence of any length, so its payload says nothing about how
    far its timestamp should move."""
    for pt in sorted(set(s.payload_types) & STATIC_NAMES.keys()):
        mapped = s.sdp.rtpmap.get(pt) if s.sdp else None
        if mapped and (mapped[0].upper() != STATIC_NAMES[pt] or mapped[1] != STATIC_CLOCK[pt]):
            yield broken(f"PT {pt} meaning {STATIC_NAMES[pt]}/8000", f"a=rtpmap:{pt} {mapped[0]}/{mapped[1]} in the "
                         "SDP", s.sdp.frame)
        if pt in G711:
            yield from _clock(s, pt, ctx)


def _clock(s: RtpStream, pt: int, ctx: MediaContext):
    overheads = _overheads(s)
    reading = read_steps(s.by_pt[pt].clock, overheads)
    rate = s.by_pt[pt].clock.arrival_rate()
    what = f"PT {pt} ({STATIC_NAMES[pt]}) on {_name(s)}"
    if reading is not None and not reading.ok:
        steps = (f"+{reading.step} per {reading.size}-byte payload" + (f" ({reading.samples} samples)"
                 if reading.overhead else "") + f" in {reading.count} of {reading.read} steps")
        clock = reading.clock(8000)
        implied = f", a {clock:.0f} Hz clock" if clock else ""
        twin = ctx.relay_input(s)
        theirs = read_steps(twin.by_pt[pt].clock, overheads) if twin is not None else None
        if reading.same_anomaly(theirs):
            yield held(f"{what}: {steps}{implied}, as in {_name(twin)} which our side sent the DUT on its other "
                       f"leg (frame {theirs.frame}): relayed from our side, not the DUT's clock", reading.frame)
        else:
            yield broken(f"{what} timestamps advancing by the samples of each packet (8000 Hz: +160 per 160-byte "
                         "payload)", steps + implied, reading.frame)
        return
    if rate is not None and abs(rate[0] - 8000) > 8000 * ARRIVAL_TOLERANCE:
        seen = f"{rate[0]:.0f} per second of arrival time (median of {rate[1]} steady {WINDOW_S:g} s windows)"
        twin = ctx.relay_input(s)
        theirs = twin.by_pt[pt].clock.arrival_rate() if twin is not None else None
        if theirs is not None and abs(theirs[0] - rate[0]) <= ARRIVAL_TOLERANCE / 4 * rate[0]:
            yield held(f"{what}: {seen}, as in {_name(twin)} which our side sent the DUT on its other leg "
                       f"({theirs[0]:.0f} per second): relayed from our side, not the DUT's clock", s.first_frame)
        else:
            yield broken(f"{what} running 8000 timestamp units per second of arrival time", seen
                         + (" although each step fits its payload" if reading is not None else ""), s.first_frame)
        return
    if reading is None and rate is None:
        return                        # too few packets of this type to tell
    said = []
    if reading is not None:
        said.append(f"+{reading.step} per {reading.size}-byte payload in {reading.count} of {reading.read} steps")
    if rate is not None:
        said.append(f"{rate[0]:.0f} per second of arrival time over {rate[1]} steady windows")
    yield held(f"{what} timestamps on an 8000 Hz clock ({'; '.join(said)})", s.first_frame)


# ---- RFC 3389 -----------------------------------------------------------------------------------------------------

@media_rule("RFC3389-01", "R", MediaScope.RTP_STREAM, "comfort noise (PT 13, or a dynamic PT the receiver maps to "
            "CN) only where the receiver's SDP lists it on the m= line; its first byte is a noise level 0-127 (3, 4)",
            ["MED-04"])
def comfort_noise(s: RtpStream, ctx: MediaContext):
    """CN packets are PT 13 (any size) and dynamic payload types the receiver's SDP maps to CN, as sampled by the
    model (dynamic ones only up to rtp.SMALL_PAYLOAD bytes, which real CN payloads are: a level byte and a few
    spectral coefficients). Without a receiver's SDP in the capture nothing is judged (the payload might be SRTP);
    on RTP/SAVP the level byte is encrypted, so only the m= line is judged."""
    if s.sdp is None:
        return
    media = s.sdp.media
    for pt, cn in sorted(s.small.items()):
        if pt != 13 and (s.encoding(pt) or "").upper() != "CN":
            continue
        first = cn.sample[0][0]
        count = s.by_pt[pt].packets
        if str(pt) not in media.formats:
            yield broken(f"comfort noise only on a payload type the receiver's SDP in frame {s.sdp.frame} lists "
                         f"(m={media.kind} {media.port} {media.proto} {' '.join(media.formats)})",
                         f"{count} CN packet(s) on PT {pt} on {_name(s)}", first)
        elif s.sdp.srtp:
            yield held(f"CN on PT {pt} listed in the receiver's SDP in frame {s.sdp.frame} (SRTP: the noise level "
                       "is encrypted, not judged)", first)
        elif cn.first_high is not None:
            frame, level = cn.first_high
            yield broken(f"a CN noise level 0-127 (first payload byte, top bit clear) on {_name(s)}",
                         (f"level byte {level} (0x{level:02x})" if level >= 0 else "an empty CN payload")
                         + f" in {cn.high} of {cn.packets} CN packets", frame)
        else:
            levels = ", ".join(str(v) for _f, v in cn.sample)
            yield held(f"CN on PT {pt} listed in the receiver's SDP in frame {s.sdp.frame}, levels 0-127 "
                       f"({count} packets; first levels {levels}) on {_name(s)}", first)


# The RFC 4733 rules live in media_events and the RFC 3711 rules in media_srtp; importing them here registers them
# after the rest, in MEDIA_RULES' order.
from . import media_events, media_srtp  # noqa: E402,F401
