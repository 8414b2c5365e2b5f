"""Stimuli of suite HLD: hold and resume by re-INVITE, from the Mediation side (Lync holds: sendonly for music on
hold, or inactive) and from the far side (the PSTN/PBX user holds, so the DUT must carry the hold to the Mediation
side). One scenario pair does both: ``hold_uac.xml`` places the call and holds/resumes it ``cycles`` times,
``hold_uas.xml`` answers every re-INVITE with the RFC 3264 direction. Both send RTCP every second all call long
(:func:`write_rtcp_pcap`), as Lync (RTCPCallsOnHold) and a PSTN gateway do."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def _sets(cycles: int, hold_ms: int, media_ms: int) -> list[str]:
    return ["-set", "cycles", str(cycles), "-set", "hold_ms", str(hold_ms), "-set", "media_ms", str(media_ms)]


def _timeout(cycles: int, hold_ms: int, media_ms: int) -> int:
    return int(10 + cycles * (hold_ms + media_ms + 1500) / 1000 + media_ms / 1000)


RTCP_INTERVAL_S = 1.0     # our agents' RTCP interval (RFC 3550 says about 5 s; shorter shows a quick hold)


def _rtcp_compound(ssrc: int, cname: bytes = b"sipqual@lab.example") -> bytes:
    """An RTCP receiver report without report blocks plus an SDES CNAME (RFC 3550 section 6.1)."""
    rr = struct.pack("!BBHI", 0x80, 201, 1, ssrc)
    item = bytes([1, len(cname)]) + cname + b"\0"
    item += b"\0" * (-(4 + len(item)) % 4)
    sdes = struct.pack("!BBHI", 0x81, 202, (4 + len(item)) // 4, ssrc) + item
    return rr + sdes


def write_rtcp_pcap(path: Path, seconds: float, interval: float = RTCP_INTERVAL_S) -> Path:
    """A pcap SIPp plays with ``play_pcap_audio``: an RTCP compound to the port above the media port every
    ``interval`` for ``seconds``. SIPp sends each packet from its media port plus the packet's offset from the lowest
    destination port in the file, to the peer's SDP port plus the same offset; that lowest port is an RTP packet an
    hour after the end, which SIPp never reaches (it stops the playback when the call ends), so no RTP with a
    foreign SSRC joins the agent's own stream."""
    def udp(sport: int, dport: int, payload: bytes) -> bytes:
        u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 0, 0, 64, 17, 0, bytes([192, 0, 2, 99]),
                         bytes([192, 0, 2, 98]))
        csum = sum(struct.unpack("!10H", ip))
        csum = (csum & 0xFFFF) + (csum >> 16)
        ip = ip[:10] + struct.pack("!H", ~((csum & 0xFFFF) + (csum >> 16)) & 0xFFFF) + ip[12:]
        return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\0" + ip + u
    ssrc = 0x5E1D0001
    frames = []
    t = interval / 2
    while t < seconds:
        frames.append((t, udp(10001, 10001, _rtcp_compound(ssrc))))
        t += interval
    frames.append((seconds + 3600, udp(10000, 10000, bytes([0x80, 0]) + struct.pack("!HII", 1, 0, ssrc) +
                                       b"\xff" * 160)))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, data in frames:
        out.append(struct.pack("<IIII", int(when), int(round((when % 1) * 1e6)), len(data), len(data)) + data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))
    return path


def _with_rtcp(sq: CaseContext, seconds: float, *names: str) -> None:
    """Both agents of a hold call send RTCP for the whole call (``seconds`` and some to spare), held or not: the
    pcap each one's scenario plays, written where :meth:`CaseContext._start` puts the agent's files."""
    for name in names:
        write_rtcp_pcap(sq.dir / f"sipp-{name}" / "rtcp.pcap", seconds=seconds + 5)


def lync_holds_with_rtcp(sq: CaseContext, hold_s: float, media_ms: int = 1000) -> None:
    """TC-HLD-04: :func:`lync_holds` with a=inactive and one hold of ``hold_s``: while held only RTCP flows (our
    agents send it every second all call long), which the DUT must keep sending toward the Mediation side."""
    lync_holds(sq, hold_dir="inactive", hold_ms=int(hold_s * 1000), media_ms=media_ms)


def lync_holds(sq: CaseContext, hold_dir: str = "sendonly", cycles: int = 1, hold_ms: int = 1000,
               media_ms: int = 1000, retrieve: str = "same") -> None:
    """Mediation side -> DUT -> far end; once the call is up (``media_ms`` of RTP both ways) the Mediation side
    holds with a re-INVITE a=``hold_dir`` (sendonly: music on hold, its RTP goes on; inactive: nothing flows),
    ``hold_ms`` later resumes with a=sendrecv and streams ``media_ms`` again, ``cycles`` times; then hangs up. The
    far end answers each re-INVITE with the RFC 3264 direction. ``retrieve="moved"``: the resume offers another
    media port (a call park retrieved by another endpoint, TC-HLD-06)."""
    timeout = _timeout(cycles, hold_ms, media_ms)
    _with_rtcp(sq, (cycles * (hold_ms + media_ms) + media_ms) / 1000, "far-held", "ms-holder")
    sq.far_server("far-held", "hold_uas.xml", {"media": "on"}, timeout_s=timeout)
    sq.ms_client("ms-holder", "hold_uac.xml", {**outbound(sq), "hold_dir": hold_dir, "hold_addr": sq.topo.ms.ip,
                                                   "retrieve": retrieve},
                 timeout_s=timeout, extra=_sets(cycles, hold_ms, media_ms))
    sq.wait_all()


def far_holds(sq: CaseContext, hold_dir: str = "sendonly", cycles: int = 1, hold_ms: int = 1000,
              media_ms: int = 1000, legacy: bool = False) -> None:
    """Far end -> DUT -> Mediation side; the far caller holds (re-INVITE a=``hold_dir``; ``legacy``: with
    c=0.0.0.0 as RFC 2543 did) and resumes, ``cycles`` times, then hangs up; the Mediation side answers each
    re-INVITE the DUT sends it with the RFC 3264 direction."""
    timeout = _timeout(cycles, hold_ms, media_ms)
    _with_rtcp(sq, (cycles * (hold_ms + media_ms) + media_ms) / 1000, "ms-held", "far-holder")
    # the Mediation side sends no RTP on a legacy hold: a packet in flight when the DUT learns of c=0.0.0.0 is
    # rightly dropped, which the passive RTP rules would read as loss
    sq.ms_server("ms-held", "hold_uas.xml", {"media": "off" if legacy else "on"}, timeout_s=timeout)
    sq.far_client("far-holder", "hold_uac.xml",
                  {**inbound(sq), "hold_dir": hold_dir, "hold_addr": "0.0.0.0" if legacy else sq.topo.far.ip,
                   "retrieve": "same"},
                  timeout_s=timeout, extra=_sets(cycles, hold_ms, media_ms))
    sq.wait_all()
