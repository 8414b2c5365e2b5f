"""Stimuli of suite REL: reliable provisional responses (RFC 3262) and UPDATE (RFC 3311) through the DUT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def calls_without_100rel(sq: CaseContext, hold_ms: int = 500) -> None:
    """TC-REL-01: an IN call whose far caller supports 100rel (Supported: 100rel, replaces), answered by our
    Mediation callee, which supports no extension; then an OUT call whose INVITE does not list 100rel, answered by
    the far end after a plain 180. Each hangs up after ``hold_ms`` of media."""
    sq.ms_server("ms-callee", "call_uas_hangup.xml", timeout_s=15, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_supported_wait_bye.xml", {**inbound(sq), "supported": "100rel, replaces"},
                  timeout_s=15)
    sq.wait_all()
    sq.far_server("far-callee", "call_uas.xml", timeout_s=15)
    sq.ms_client("ms-caller", "call_uac.xml", outbound(sq), timeout_s=15, pause_ms=hold_ms)
    sq.wait_all()



def out_call_prack_withheld(sq: CaseContext) -> None:
    """TC-REL-02: Mediation side -> DUT -> far end; our INVITE supports 100rel; the far end rings reliably (180 with
    Require: 100rel, RSeq 1, retransmitted until PRACKed); our caller withholds its PRACK until it has seen two
    retransmissions of the reliable 180 (at most 3 s for each), then PRACKs it, and once the call is answered
    streams 1 s of RTP and hangs up."""
    sq.far_server("far-callee", "call_uas_100rel.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac_100rel.xml", outbound(sq), timeout_s=20)
    sq.wait_all()


def out_call_updates(sq: CaseContext) -> None:
    """TC-REL-03: Mediation side -> DUT -> far end; once the call is up our caller sends an UPDATE without SDP, then
    one with an offer; the far end then sends its own UPDATE with an offer, and our caller, before answering it,
    sends a crossing UPDATE with an offer (glare), then answers the far end's and hangs up. The far end answers the
    crossing offer 491 (its own is outstanding)."""
    sq.far_server("far-callee", "call_uas_update.xml", timeout_s=15)
    sq.ms_client("ms-caller", "call_uac_update.xml", outbound(sq), timeout_s=15)
    sq.wait_all()
