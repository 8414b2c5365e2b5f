"""Media rules on RFC 4733 events the DUT sends: event codes, the packets of one event, its end packets, and the
telephone-event payload type of the receiver's SDP.

Declared in the media rule table of :mod:`sipqual.rules.media` (which imports this module), with the same units and
context; see that module for how media rules are run.
"""

from __future__ import annotations

from ..rtp import RtpStream
from ..rtpevents import DtmfEvent
from ..sdp import event_codes
from .media import MediaContext, MediaScope, _name, media_rule
from .registry import broken, held


# ---- RFC 4733 -----------------------------------------------------------------------------------------------------

def _event_range(e: DtmfEvent) -> set[int]:
    """The event codes the receiver's telephone-event fmtp allows (none when it does not parse)."""
    return event_codes(e.stream.sdp.media.fmtp.get(e.pt) if e.stream.sdp else None) or set()


@media_rule("RFC4733-02", "M", MediaScope.DTMF_EVENT, "event codes within the negotiated events (0-9, 10 *, 11 #, "
            "12-15 A-D, 16 flash), one code per event (2.3)", ["MED-03"])
def event_code_range(e: DtmfEvent, ctx: MediaContext):
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


def _looks_like_events(packets: list[tuple]) -> bool:
    """Candidate 4-byte payloads read as RFC 4733 events: the reserved R bit clear in all, and either an end (E)
    bit or one timestamp shared by several packets (an event's packets share its timestamp)."""
    if any(p[6][1] & 0x40 for p in packets):
        return False
    return any(p[6][1] & 0x80 for p in packets) or len({p[3] for p in packets}) < len(packets)


@media_rule("RFC4733-06", "M", MediaScope.RTP_STREAM, "RFC 4733 events are sent with the telephone-event payload "
            "type of the receiver's SDP; the payload types may differ per direction (RFC 3264 6.1)", ["MED-03"])
def event_payload_type(s: RtpStream, ctx: MediaContext):
    """Candidate event packets are 4-byte payloads on dynamic payload types (the model keeps them). A payload type
    the receiver's SDP maps to telephone-event holds; one it maps to another encoding is that codec, not events;
    one it does not map at all, carrying packets that read as events, is events on the wrong payload type (they
    are invisible to the other RFC 4733 rules, which decode the receiver's telephone-event types only)."""
    if s.sdp is None or not s.event_packets:
        return
    rtpmap = s.sdp.rtpmap
    wanted = sorted(pt for pt, (enc, _clock, _ch) in rtpmap.items() if enc.lower() == "telephone-event")
    by_pt: dict[int, list[tuple]] = {}
    for p in s.event_packets:
        by_pt.setdefault(p[5], []).append(p)
    for pt, packets in sorted(by_pt.items()):
        if pt in wanted:
            yield held(f"RFC 4733 events on PT {pt}, the receiver's telephone-event PT (SDP in frame "
                       f"{s.sdp.frame}), on {_name(s)}", packets[0][0])
        elif pt in rtpmap or not _looks_like_events(packets):
            continue                  # another codec's small payloads
        else:
            want = (f"events on PT {'/'.join(map(str, wanted))}, the receiver's telephone-event PT (SDP in frame "
                    f"{s.sdp.frame})") if wanted else \
                f"events on PT none: the receiver's SDP in frame {s.sdp.frame} offers no telephone-event"
            own = ctx.media_at(s.src, s.sport, packets[0][1])
            mine = own is not None and (own[2].rtpmap.get(pt, ("",))[0].lower() == "telephone-event")
            yield broken(want, f"PT {pt}" + (" (the DUT's own telephone-event PT)" if mine else "")
                         + f": {len(packets)} event packet(s) on {_name(s)}", packets[0][0])
