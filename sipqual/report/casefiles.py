"""What the per-case appendix shows from a case's capture: the SIP ladder and the RTP streams.

Each capture is read once with :func:`sipqual.trace.read_trace` (TLS decrypted with the case's key log); captures
of different cases are read in parallel, since each read runs its own tshark process. RTP statistics come from the
trace's media model (:mod:`sipqual.rtp`: per stream packets, loss, RFC 3550 jitter); when a trace does not offer
them, the appendix says they are not derivable.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import SipqualError
from ..trace import read_trace
from .ladder import ladder_svg
from .rundata import RunData


@dataclass
class CaseCapture:
    ladder: str | None = None          # SVG
    messages: int = 0
    streams: list[dict] | None = None  # None: RTP not derivable from this trace
    notes: list[str] = field(default_factory=list)


def analyse(run: RunData, case: dict) -> CaseCapture:
    v = run.verification(case)
    if v is None:
        return CaseCapture(notes=["no capture recorded for this case"])
    try:
        trace = read_trace(v.capture, v.keylog, v.tls_ports, v.tcp_ports)
    except SipqualError as e:
        return CaseCapture(notes=[f"capture could not be read: {e}"])
    out = CaseCapture(messages=len(trace.sip), notes=list(dict.fromkeys(trace.findings)))  # one per pass: dedupe
    if trace.sip:
        marked = {fr for f in case.get("findings") or [] if isinstance(f, dict) and not f.get("ok")
                  for fr in f.get("frames") or []}
        out.ladder = ladder_svg(trace.sip, set(v.dut_addresses) or set(run.dut_addresses()), run.address_names(),
                                run.mediation_addresses(), f"{case.get('id')} {case.get('transport') or ''}", marked)
    else:
        out.notes.append("no SIP message in the capture")
    out.streams = rtp_streams(trace)
    return out


def rtp_streams(trace) -> list[dict] | None:
    """One row per RTP stream (direction and SSRC), or None when the trace has no such model."""
    try:
        return [{"src": f"{s.src}:{s.sport}", "dst": f"{s.dst}:{s.dport}", "ssrc": s.ssrc,
                 "pt": ",".join(f"{pt} {s.encoding(pt) or ''}".strip() for pt in s.payload_types),
                 "packets": s.packets, "lost": s.lost, "expected": s.expected,
                 "duration_s": s.last_time - s.first_time, "jitter_ms": s.jitter_ms, "first_frame": s.first_frame}
                for s in trace.rtp]
    except (AttributeError, TypeError):
        return None


def analyse_all(run: RunData, cases: list[dict], workers: int = 4) -> list[CaseCapture]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: analyse(run, c), cases))
