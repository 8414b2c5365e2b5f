"""Stimuli of suite EM: early media (183 with SDP and RTP before the answer), DTMF and ringing during early media,
forked early dialogs and early media ended by a CANCEL. Media stays short: about a second of early media, 1.5 s
after the answer."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


#: the digits TC-EM-02's caller sends into early media, and the telephone-event payload type its SDP offers
DTMF_DIGITS, DTMF_PT = "12", 101
_EVENT = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def dtmf_pcap(path: Path, digits: str, pt: int = DTMF_PT, ssrc: int = 0x5157D7F0) -> Path:
    """Write ``digits`` as RFC 4733 events for SIPp's ``play_pcap_audio`` (SIPp 3.6.1's own ``play_dtmf`` sends PT
    96 whatever the SDP says): per digit 100 ms of event packets every 20 ms (the first marked, one timestamp, the
    duration growing), the end packet three times, then 100 ms of silence; fresh sequence numbers throughout. A
    classic pcap of Ethernet/IPv4/UDP from documentation addresses (SIPp rewrites addresses and ports)."""
    def packet(seq: int, ts: int, marker: bool, code: int, end: bool, duration: int) -> bytes:
        rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq, ts, ssrc) + \
            struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)
        udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                                   bytes([192, 0, 2, 99]), bytes([192, 0, 2, 98])))
        s = sum(struct.unpack("!10H", bytes(ip)))
        s = (s & 0xFFFF) + (s >> 16)
        ip[10:12] = struct.pack("!H", ~((s & 0xFFFF) + (s >> 16)) & 0xFFFF)
        return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + bytes(ip) + udp

    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t_us, seq, ts = 0, 1000, 8000
    for digit in digits:
        code = _EVENT[digit]
        frames = [(i == 0, False, 160 * (i + 1)) for i in range(5)] + [(False, True, 800)] * 3
        for marker, end, duration in frames:
            data = packet(seq, ts, marker, code, end, duration)
            out += struct.pack("<IIII", t_us // 1_000_000, t_us % 1_000_000, len(data), len(data)) + data
            seq, t_us = seq + 1, t_us + 20_000
        ts += 1600           # the next event starts 200 ms later on the RTP clock
        t_us += 100_000
    path.write_bytes(bytes(out))
    return path


def out_early_media(sq: CaseContext, early_ms: int = 1000, hold_ms: int = 1500, dtmf: bool = False,
                    ringing: bool = False) -> None:
    """Mediation side -> DUT -> far end, which answers 183 with SDP and plays ``early_ms`` of RTP (an announcement)
    before its 200 (same SDP); the Mediation side hangs up ``hold_ms`` after the answer. ``dtmf``: the Mediation
    side sends :data:`DTMF_DIGITS` as RFC 4733 events as soon as the 183 reached it (TC-EM-02). ``ringing``: the far end
    sends 180 without SDP after its early media (TC-EM-03)."""
    if dtmf:
        workdir = sq.dir / "sipp-ms-caller"
        workdir.mkdir(parents=True, exist_ok=True)
        dtmf_pcap(workdir / "dtmf.pcap", DTMF_DIGITS)
    sq.far_server("far-early", "call_uas_early_media_ringing.xml" if ringing else "call_uas_early_media.xml",
                  timeout_s=15, pause_ms=early_ms)
    sq.ms_client("ms-caller", "call_uac_early_dtmf.xml" if dtmf else "call_uac_early_media.xml", outbound(sq),
                 timeout_s=15, pause_ms=hold_ms)
    sq.wait_all()


def in_early_media_cancelled(sq: CaseContext, early_ms: int = 1000) -> None:
    """Far end -> DUT -> Mediation side, which answers 183 with SDP and plays RTP (early media) and never answers;
    the far caller cancels ``early_ms`` after the 183 reached it, so the DUT must cancel the Mediation leg
    (TC-EM-07)."""
    sq.ms_server("ms-early", "call_uas_early_media_cancel.xml", timeout_s=10)
    sq.far_client("far-caller", "call_uac_early_cancel.xml", inbound(sq), timeout_s=10, pause_ms=early_ms)
    sq.wait_all()


FORKED = {3: "call_uas_forked.xml", 20: "call_uas_forked20.xml"}


def in_forked(sq: CaseContext, forks: int = 3, early_rtp: bool = False, hold_ms: int = 1500) -> None:
    """Far end -> DUT -> Mediation side, which forks like Lync's simultaneous ring: ``forks`` early dialogs (183 with
    SDP, each its own To tag), then 200 on the second with its SDP; RTP both ways for ``hold_ms``; the Mediation
    side hangs up (TC-EM-04, -05). ``early_rtp``: the second fork plays 1 s of RTP before its 200 (TC-EM-06)."""
    scenario = "call_uas_forked_early_rtp.xml" if early_rtp else FORKED[forks]
    sq.ms_server("ms-forked", scenario, {"other_port": sq.ports.media()}, timeout_s=15, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_wait_bye.xml", inbound(sq), timeout_s=15)
    sq.wait_all()
