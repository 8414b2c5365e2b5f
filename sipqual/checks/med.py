"""Checks of suites MED and DTMF on the media agent's calls: what the DUT relayed between our two agents, read from
the capture (frames for every verdict), with the receiving agent's own report (digits its Goertzel detector heard
in the audio) as plain-data context. The form of each RFC 4733 event (shared timestamp, marker, duration growth,
end packets) is judged by the passive rules RFC4733-02/03/04/06 on every event the DUT sends."""

from __future__ import annotations

from ..recording import check
from ..trace import Trace
from ..verdict import Finding, passed, violation
from .common import CallSpec, raise_missing, route
from .em import _DTMF, _digits, _in_order


@check
def dtmf_relayed(trace: Trace, *, spec: CallSpec, digits: str, from_caller: bool, heard_inband: str = "",
                 requirements: tuple[str, ...] = ("MED-03",), severity: str = "M") -> list[Finding]:
    """TC-DTMF-01/02 (MED-03): our agent on one side sends ``digits`` as RFC 4733 telephone-events during the call;
    the DUT must deliver every one of them, in order, to our agent on the other side as RFC 4733 events (not only as
    tones in the audio: ``heard_inband`` is what the receiving agent's tone detector heard, quoted when the events are
    missing). ``from_caller``: the caller's side sends (else the callee's)."""
    routed = route(trace, spec)
    if isinstance(routed, Finding):
        return [routed]
    want = [_DTMF[d] for d in digits.upper()]
    src, dut_rx, dut_tx, dst = ((spec.caller_ip, spec.dut_in_ip, spec.dut_out_ip, spec.callee_ip) if from_caller
                                else (spec.callee_ip, spec.dut_out_ip, spec.dut_in_ip, spec.caller_ip))
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
            seen += f" (its RTP carries PT {sorted({pt for s in rtp for pt in s.payload_types})} only)"
        if heard_inband:
            seen += f"; our agent heard {' '.join(heard_inband)} as tones in the audio"
        frames = [s.first_frame for s in rtp[:1]] or [sent[0].first_frame]
    return [violation(reqs[0], reqs, severity, what, seen, frames)]
