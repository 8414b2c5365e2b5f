"""Stimuli of suite BAS: calls ended before they are answered, and basic calls answered and cleared by either
side, with one-codec offers (TC-BAS-01/-02)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..checks import CallSpec
from . import calls
from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def out_call_busy(sq: CaseContext) -> None:
    """Mediation side -> DUT -> far end, which rejects the call as a PSTN switch reports a busy subscriber (486,
    Q.850 cause 17); the Mediation side ACKs whatever final response the DUT passes back."""
    sq.far_server("far-busy", "call_uas_busy.xml", timeout_s=10)
    sq.ms_client("ms-caller", "call_uac_rejected.xml", outbound(sq), timeout_s=10)
    sq.wait_all()


def out_call_cancelled(sq: CaseContext, ring_ms: int = 1000) -> None:
    """Mediation side -> DUT -> far end, which rings and never answers; the Mediation side cancels ``ring_ms``
    after the 180 reached it."""
    sq.far_server("far-ringing", "call_uas_ring_cancel.xml", timeout_s=10)
    sq.ms_client("ms-caller", "call_uac_cancel.xml", outbound(sq), timeout_s=10, pause_ms=ring_ms)
    sq.wait_all()


def _keys(**keys) -> list[str]:
    """SIPp -key switches for a scenario's own keys (the context passes the runner's keys itself)."""
    return [a for k, v in keys.items() for a in ("-key", k, str(v))]


def out_call_rejected(sq: CaseContext, status: int, cause: int) -> None:
    """Mediation side -> DUT -> far end, which rejects the call with ``status`` and Reason Q.850 ``cause`` (404 and
    cause 1: an unallocated number); the Mediation side ACKs whatever final response the DUT passes back."""
    sq.far_server("far-reject", "call_uas_reject.xml", timeout_s=10, extra=_keys(status=status, cause=cause))
    sq.ms_client("ms-caller", "call_uac_rejected.xml", outbound(sq), timeout_s=10)
    sq.wait_all()


def in_call_rejected(sq: CaseContext, status: int, cause: int) -> None:
    """Far end -> DUT -> Mediation side, which rejects the call with ``status`` and Reason Q.850 ``cause`` (603
    Decline as Lync declines a call, 404 for a number no Lync user has); the far caller ACKs whatever final
    response the DUT sends it."""
    sq.ms_server("ms-reject", "call_uas_reject.xml", timeout_s=10, extra=_keys(status=status, cause=cause))
    sq.far_client("far-caller", "call_uac_rejected.xml", inbound(sq), timeout_s=10)
    sq.wait_all()


def out_call_no_answer(sq: CaseContext) -> None:
    """Mediation side -> DUT -> far end, which rings and never answers; the Mediation side waits for the DUT's
    no-answer timer up to 30 s after the last ringing (call_uac_no_answer.xml), then cancels."""
    sq.far_server("far-ringing", "call_uas_ring_cancel.xml", timeout_s=45)
    sq.ms_client("ms-caller", "call_uac_no_answer.xml", outbound(sq), timeout_s=45)
    sq.wait_all()


def in_call_delayed_offer(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Far end -> DUT -> Mediation side with a delayed offer (INVITE without SDP; the far caller answers in its
    ACK); G.711 both ways; the Mediation side answers and hangs up after ``hold_ms``."""
    sq.ms_server("ms-callee", "call_uas_hangup.xml", timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_delayed_offer.xml", inbound(sq), timeout_s=20)
    sq.wait_all()


#: the G.711 codecs a one-codec offer can carry (SIPp keys codec_pt / codec_name)
G711 = {"PCMU": 0, "PCMA": 8}


def codec_keys(codec: str) -> dict:
    return {"codec_pt": G711[codec], "codec_name": codec}


def in_call_callee_hangs_up(sq: CaseContext, codec: str = "PCMU", hold_ms: int = 1500) -> None:
    """Far end -> DUT -> Mediation side; the far caller offers ``codec`` only; the Mediation side answers in it,
    streams ``hold_ms`` of RTP and hangs up (TC-BAS-01)."""
    sq.ms_server("ms-callee", "call_uas_hangup.xml" if codec == "PCMU" else "call_uas_one_codec.xml",
                 codec_keys(codec), timeout_s=12, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_one_codec_wait_bye.xml", {**inbound(sq), **codec_keys(codec)},
                  timeout_s=12)
    sq.wait_all()


def in_call_caller_hangs_up(sq: CaseContext, codec: str = "PCMA", hold_ms: int = 1500) -> None:
    """Far end -> DUT -> Mediation side; the far caller offers ``codec`` only, the Mediation side answers in it; after
    ``hold_ms`` of RTP the far caller hangs up, so the DUT must send the BYE toward the Mediation side (TC-BAS-02)."""
    sq.ms_server("ms-callee", "call_uas_one_codec.xml", codec_keys(codec), timeout_s=12)
    sq.far_client("far-caller", "call_uac_one_codec.xml", {**inbound(sq), **codec_keys(codec)}, timeout_s=12,
                  pause_ms=hold_ms)
    sq.wait_all()


def out_call_callee_hangs_up(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Mediation side -> DUT -> far end; the far end answers, streams ``hold_ms`` of RTP and hangs up, so the DUT
    must send the BYE toward the Mediation side (TC-BAS-03)."""
    sq.far_server("far-callee", "call_uas_hangup.xml", timeout_s=12, pause_ms=hold_ms)
    sq.ms_client("ms-caller", "call_uac_wait_bye.xml", outbound(sq), timeout_s=12)
    sq.wait_all()


def in_call_cancelled(sq: CaseContext, ring_ms: int = 1000) -> None:
    """Far end -> DUT -> Mediation side, which rings and never answers; the far caller cancels ``ring_ms`` after the
    180 reached it, so the DUT must cancel the Mediation leg (TC-BAS-06)."""
    sq.ms_server("ms-ringing", "call_uas_ring_cancel.xml", timeout_s=10)
    sq.far_client("far-caller", "call_uac_cancel.xml", inbound(sq), timeout_s=10, pause_ms=ring_ms)
    sq.wait_all()


def in_call_spec(sq: CaseContext, codec: str | None = None) -> CallSpec:
    """An IN call (:func:`.calls.in_call_spec`), with the one codec the far caller offers when ``codec`` is given."""
    spec = calls.in_call_spec(sq)
    return replace(spec, codec_pt=G711[codec]) if codec else spec


def out_call_no_ack(sq: CaseContext) -> None:
    """TC-BAS-14: Mediation side -> DUT -> far end, which answers; the Mediation side never ACKs the 200 (it takes
    every retransmission and waits for the BYE). The far end is an RFC 3261 UAS: it retransmits its 200 at T1
    doubling to T2 while no ACK comes and sends BYE at 64*T1 (32 s); an ACK (a B2BUA acknowledging the far leg
    itself) stops it, and it then waits for the DUT's BYE. 45 s at most."""
    sq.far_server("far-callee", "call_uas_no_ack.xml", timeout_s=50)
    sq.ms_client("ms-caller", "call_uac_no_ack.xml", outbound(sq), timeout_s=50)
    sq.wait_all()


def long_call_interval(sq: CaseContext) -> int:
    """TC-BAS-13's session interval: quick 90 s (RFC 4028's minimum), full 1800 s (the recommended value)."""
    return int(sq.seconds(quick=90, full=1800))


def long_call_duration(sq: CaseContext) -> int:
    """TC-BAS-13's call length: past one session interval (quick 100 s) or the catalogue's 40 minutes (full)."""
    return int(sq.seconds(quick=100, full=2400))


def out_call_long(sq: CaseContext, se: int, duration: int) -> None:
    """TC-BAS-13: Mediation side -> DUT -> far end for ``duration`` seconds. Our caller asks Session-Expires ``se``
    with refresher=uac and refreshes with an UPDATE every se/2 (so the call outlives the interval only if the DUT
    carries the refreshes on); the far end answers with the same timer and answers every refresh. Both agents stream
    RTP and send RTCP every second for the whole call; our caller hangs up at ``duration``."""
    from .hld import write_rtcp_pcap

    half = se // 2
    refreshes = max(1, duration // half)
    rest = max(1, duration - refreshes * half)
    for name in ("far-callee", "ms-caller"):
        write_rtcp_pcap(sq.dir / f"sipp-{name}" / "rtcp.pcap", seconds=duration + 10)
    sq.far_server("far-callee", "call_uas_long.xml", {"se_answer": f"{se};refresher=uac"}, timeout_s=duration + 30)
    sq.ms_client("ms-caller", "call_uac_long.xml", {**outbound(sq), "se": f"{se};refresher=uac"},
                 timeout_s=duration + 30, extra=["-set", "refreshes", str(refreshes), "-set", "refresh_ms",
                                                 str(half * 1000), "-set", "rest_ms", str(rest * 1000)])
    sq.wait_all()
