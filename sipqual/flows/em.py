"""Stimuli of suite EM: early media (183 with SDP and RTP before the answer), DTMF and ringing during early media,
forked early dialogs and early media ended by a CANCEL. Media stays short: about a second of early media, 1.5 s
after the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def out_early_media(sq: CaseContext, early_ms: int = 1000, hold_ms: int = 1500, dtmf: bool = False,
                    ringing: bool = False) -> None:
    """Mediation side -> DUT -> far end, which answers 183 with SDP and plays ``early_ms`` of RTP (an announcement)
    before its 200 (same SDP); the Mediation side hangs up ``hold_ms`` after the answer. ``dtmf``: the Mediation
    side sends the digits 1234 as RFC 4733 events as soon as the 183 reached it (TC-EM-02). ``ringing``: the far end
    sends 180 without SDP after its early media (TC-EM-03)."""
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
