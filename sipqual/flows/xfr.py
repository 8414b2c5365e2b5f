"""Stimuli of suite XFR: transfers. With REFER disabled (the Lync trunk's default for most listed IP-PBXs and
gateways) Lync transfers by moving the media of the call it keeps: a re-INVITE whose offer names the transfer
target's endpoint (TC-XFR-04, a hairpin transfer), or, with Enable3pccRefer, a re-INVITE without SDP answered in the
ACK with the target's endpoint (TC-XFR-05, RFC 3725 flow I). A DUT-side user transfers the same way from the far
side (TC-XFR-07): the Mediation side does not take REFER (SIG-09). One scenario does all three
(``xfr_retarget_uac.xml``, key ``retarget``: offer | 3pcc); the other party (``hold_uas.xml``) answers every
re-INVITE, with an offer when it came without one, and streams all call long."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import inbound, outbound
from .hld import _with_rtcp

if TYPE_CHECKING:
    from ..context import CaseContext

MEDIA_MS = 1500     # RTP both ways before the transfer and after it (the check wants the media moved within 1 s)


def _timeout(media_ms: int) -> int:
    return int(10 + 2 * media_ms / 1000)


def lync_retargets(sq: CaseContext, retarget: str = "offer", media_ms: int = MEDIA_MS) -> None:
    """Mediation side -> DUT -> far end; after ``media_ms`` of RTP both ways the Mediation side moves the call's
    media to another port (the transfer target's endpoint) by re-INVITE: with an offer (``retarget="offer"``) or
    without SDP, answering the DUT's offer in the ACK (``"3pcc"``); ``media_ms`` later it hangs up."""
    timeout = _timeout(media_ms)
    _with_rtcp(sq, 2 * media_ms / 1000, "far-transferee")      # hold_uas.xml plays rtcp.pcap from its answer on
    sq.far_server("far-transferee", "hold_uas.xml", {"media": "on"}, timeout_s=timeout)
    sq.ms_client("ms-transferor", "xfr_retarget_uac.xml", {**outbound(sq), "retarget": retarget},
                 timeout_s=timeout, extra=["-set", "media_ms", str(media_ms)])
    sq.wait_all()


def far_retargets(sq: CaseContext, media_ms: int = MEDIA_MS) -> None:
    """Far end -> DUT -> Mediation side; after ``media_ms`` a DUT-side user transfers the call: the far caller (the
    PBX behind the DUT) moves its media to another port by a re-INVITE with an offer, never a REFER; ``media_ms``
    later it hangs up. The Mediation side answers whatever the DUT sends it (re-INVITE or none)."""
    timeout = _timeout(media_ms)
    _with_rtcp(sq, 2 * media_ms / 1000, "ms-transferee")
    sq.ms_server("ms-transferee", "hold_uas.xml", {"media": "on"}, timeout_s=timeout)
    sq.far_client("far-transferor", "xfr_retarget_uac.xml", {**inbound(sq), "retarget": "offer"},
                  timeout_s=timeout, extra=["-set", "media_ms", str(media_ms)])
    sq.wait_all()
