"""The receive side of one stream: SRTP/SRTCP opened (:mod:`.srtp`), then every packet read by the passive
analysis' own media model (:class:`sipqual.rtp.MediaModel`: sequence, loss, jitter, RFC 4733 events, comfort noise,
RTCP compounds), in-band DTMF found by Goertzel (:mod:`.audio`), and RTCP report blocks made from the same
counters (RFC 3550 A.3 loss, A.8 jitter, LSR/DLSR from the peer's SRs)."""

from __future__ import annotations

import time

from .. import rtp as rtpmod
from ..rtpevents import build_events
from . import packets
from .audio import DtmfDetector, decode, digit_of
from .config import StreamConfig
from .srtp import Unprotector

MAX_SOURCES = 16            # SSRCs the report blocks and the tone detectors follow


class Receiver:
    def __init__(self, cfg: StreamConfig):
        self.cfg = cfg
        self.model = rtpmod.MediaModel()
        self.frame = 0
        self.unprotect = Unprotector(cfg.recv_sdes) if cfg.recv_keys else None
        self.detectors: dict[int, DtmfDetector] = {}
        self.last_sr: dict[int, tuple[int, float]] = {}     # SSRC -> (LSR middle NTP bits, when received)
        self.prior: dict[tuple, tuple[int, int]] = {}       # stream key -> (expected, received) at the last report
        self.dropped = 0                                    # datagrams that were neither RTP nor RTCP
        self.last_source: tuple[str, int] | None = None    # where the latest RTP came from (latching)

    def rekey(self, keys: list[dict]) -> None:
        from .srtp import SdesKey
        if not keys:
            return
        if self.unprotect is None:
            self.unprotect = Unprotector([SdesKey(**k) for k in keys])
            return
        known = {k.as_dict().__repr__() for k, _s in self.unprotect.entries}
        for k in reversed(keys):
            if repr(SdesKey(**k).as_dict()) not in known:
                self.unprotect.add(SdesKey(**k))

    def datagram(self, data: bytes, src: tuple[str, int], dst: tuple[str, int], rtcp_socket: bool) -> None:
        when = time.time()
        if len(data) < 8 or data[0] >> 6 != 2:
            self.dropped += 1
            return
        is_rtcp = rtcp_socket or 192 <= data[1] <= 223
        if self.unprotect is not None:
            data = self.unprotect.rtcp(data) if is_rtcp else self.unprotect.rtp(data)
            if data is None:
                return
        self.frame += 1
        if not self.model.feed(self.frame, when, None, src[0], src[1], dst[0], dst[1], data):
            self.dropped += 1
            return
        if is_rtcp:
            for ssrc, lsr in packets.sr_fields(data):
                if len(self.last_sr) < MAX_SOURCES or ssrc in self.last_sr:
                    self.last_sr[ssrc] = (lsr, when)
            return
        self.last_source = src
        pt = data[1] & 0x7F
        if self.cfg.detect_tones and pt in (0, 8) and len(data) > 12:
            ssrc = int.from_bytes(data[8:12], "big")
            det = self.detectors.get(ssrc)
            if det is None and len(self.detectors) < MAX_SOURCES:
                det = self.detectors[ssrc] = DtmfDetector(samples=len(data) - 12)
            if det is not None:
                det.feed(decode(data[12:], pt), when)

    # ---- RTCP report blocks -------------------------------------------------------------------------------------
    def report_blocks(self, now: float) -> list[bytes]:
        blocks = []
        for s in list(self.model.streams.values())[:MAX_SOURCES]:
            expected, received = s.expected, s.packets - s.duplicates
            pe, pr = self.prior.get(s.key, (0, 0))
            self.prior[s.key] = (expected, received)
            de, dr = expected - pe, received - pr
            fraction = (((de - dr) << 8) // de) if de > 0 and de > dr else 0
            stats = s.by_pt.get(self.cfg.pt) or s.by_pt[s.main_pt]
            jitter = int(stats.jitter_at(self.cfg.clock))
            lsr, at = self.last_sr.get(s.ssrc, (0, now))
            dlsr = int((now - at) * 65536) if lsr else 0
            blocks.append(packets.report_block(s.ssrc, fraction, s.lost, s.cycles + s.max_seq, jitter, lsr, dlsr))
        return blocks

    # ---- what the report says -----------------------------------------------------------------------------------
    def report(self) -> dict:
        streams = []
        for s in self.model.rtp_streams:
            events = []
            for pt in self.cfg.te_pt_rx:
                for e in build_events(s, pt):
                    events.append({"digit": digit_of(e.code), "code": e.code, "pt": pt, "ts": e.ts,
                                   "duration": e.duration, "end_packets": e.end_count, "marker": e.marker_first,
                                   "packets": len(e.frames), "time": e.first_time,
                                   "duration_regressions": len(e.duration_regressions),
                                   "end_cleared": e.end_cleared_frame is not None})
            events.sort(key=lambda e: e["time"])
            det = self.detectors.get(s.ssrc)
            streams.append({
                "src": s.src, "sport": s.sport, "dport": s.dport, "ssrc": s.ssrc, "packets": s.packets,
                "expected": s.expected,
                "lost": s.lost, "duplicates": s.duplicates, "late": s.late, "restarts": s.restarts,
                "jitter_ms": round(s.jitter_ms, 3), "payload_types": {str(p): st.packets for p, st in s.by_pt.items()},
                "markers": s.markers, "first_time": s.first_time, "last_time": s.last_time,
                "first_seq": s.first_seq, "max_seq": s.max_seq, "cycles": s.cycles >> 16,
                "ts_steps": {str(p): _steps(st) for p, st in s.by_pt.items()},
                "cn_packets": s.small[self.cfg.cn_pt].packets if self.cfg.cn_pt in s.small else 0,
                "events": events, "event_digits": "".join(e["digit"] for e in events),
                "inband_digits": det.text if det else "",
                "inband": [[d, t] for d, t in det.digits] if det else [],     # (digit, time its tone began)
            })
        rtcp = [{"src": f.src, "sport": f.sport, "compounds": f.compounds, "types": {str(k): v for k, v in
                 f.types.items()}, "cnames": sorted(f.cnames), "ssrcs": sorted(f.ssrcs), "bad_start": f.bad_start,
                 "no_cname": f.no_cname, "byes": len(f.byes), "max_gap": round(f.max_gap, 3),
                 "first_time": f.first_time, "last_time": f.last_time} for f in self.model.rtcp_flows]
        return {"streams": streams, "rtcp": rtcp, "dropped": self.dropped,
                "srtp": self.unprotect.report() if self.unprotect else None,
                "event_digits": "".join(s["event_digits"] for s in streams),
                "inband_digits": "".join(s["inband_digits"] for s in streams)}


def _steps(stats) -> dict:
    """The timestamp steps between consecutive packets of one payload type as :mod:`sipqual.rtpclock` counts them:
    {"<step per sequence step>/<payload bytes before>": count}."""
    return {f"{step}/{size}": entry[0] for (step, size), entry in list(stats.clock.steps.items())[:8]}
