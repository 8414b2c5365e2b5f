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
