"""Stimuli of suites FEA, E911 and FAX: the features Lync users reach through the trunk (forwarding and
simultaneous ring back out to the PSTN, conference dial-out and dial-in with a DTMF PIN, escalation to a conference,
voicemail with a DTMF menu), an emergency call carrying a PIDF-LO location, and fax (a T.38 re-INVITE the Mediation
side refuses; G.711 pass-through). Media stays short: a second or two after the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import hld
from .bas import codec_keys
from .calls import inbound, outbound
from .em import dtmf_pcap

if TYPE_CHECKING:
    from ..context import CaseContext


#: what the far caller keys after the answer: a conference PIN ended by # (TC-FEA-04), a voicemail menu choice
#: (TC-FEA-06: * to reach the main menu of Exchange UM, 1 for the voice messages)
PIN_DIGITS, MENU_DIGITS = "2580#", "*1"
#: how long :func:`sipqual.flows.em.dtmf_pcap` plays one digit (160 ms of packets, 100 ms of silence)
DIGIT_MS = 260
#: the port the far side's second agent calls from while the far server holds the far port (TC-FEA-01, -02)
FAR_CALLER_PORT = 5062


def dtmf_in_call(sq: CaseContext, digits: str, voicemail: bool = False, hold_ms: int = 1000) -> None:
    """Far end -> DUT -> Mediation side (a PSTN caller dialling into a Lync conference, or reaching a Lync user whose
    call goes to Exchange UM: ``voicemail``, the Mediation side rings a second before it answers). Once answered the
    far caller keys ``digits`` as RFC 4733 events (PT 101), then streams G.711; the Mediation side hangs up
    ``hold_ms`` after the digits (TC-FEA-04, TC-FEA-06)."""
    digits_ms = DIGIT_MS * len(digits) + 200
    workdir = sq.dir / "sipp-far-caller"
    workdir.mkdir(parents=True, exist_ok=True)
    dtmf_pcap(workdir / "dtmf.pcap", digits)
    timeout = 15 + (digits_ms + hold_ms) // 1000
    sq.ms_server("ms-callee", "call_uas_ring_hangup.xml" if voicemail else "call_uas_hangup.xml", timeout_s=timeout,
                 pause_ms=digits_ms + hold_ms)
    sq.far_client("far-caller", "call_uac_dtmf.xml", inbound(sq), timeout_s=timeout, pause_ms=digits_ms)
    sq.wait_all()


def conference_dial_out(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Lync's conferencing (AVMCU) dials a PSTN participant out: Mediation side -> DUT -> far end, G.711 both ways,
    the conference (Mediation side) hangs up (TC-FEA-03)."""
    sq.far_server("far-participant", "call_uas.xml", timeout_s=20)
    sq.ms_client("ms-conference", "call_uac.xml", outbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()


def escalate_to_conference(sq: CaseContext) -> None:
    """A Lync user escalates a PSTN call to a conference with re-INVITEs (REFER disabled): Mediation side -> DUT ->
    far end; the Mediation side holds (a=sendonly) while the conference is set up, then moves the call to the
    conference's media (a=sendrecv on another media port), as :func:`sipqual.flows.hld.lync_holds` with
    ``retrieve="moved"`` (TC-FEA-05)."""
    hld.lync_holds(sq, hold_dir="sendonly", hold_ms=800, media_ms=1000, retrieve="moved")


def emergency_call(sq: CaseContext, hold_ms: int = 1500) -> None:
    """A Lync E9-1-1 call: Mediation side -> DUT -> far end (the emergency service provider), the INVITE a
    multipart/mixed body with SDP and a PIDF-LO (Geolocation, Geolocation-Routing); G.711 both ways; the Mediation
    side hangs up (TC-E911-01)."""
    sq.far_server("far-psap", "call_uas.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac_pidf.xml", outbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()


def fax_t38_refused(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Far end (a PSTN fax gateway) -> DUT -> Mediation side, G.711 both ways; 1 s after the answer the far end
    re-INVITEs to T.38, which the DUT passes on and the Mediation side refuses with 488; the far end keeps sending
    G.711 for ``hold_ms`` and hangs up (TC-FAX-01)."""
    sq.ms_server("ms-fax", "fax_uas.xml", timeout_s=20)
    sq.far_client("far-fax", "fax_uac.xml", inbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()


def fax_g711(sq: CaseContext, hold_ms: int = 2000) -> None:
    """An analog fax device's call in G.711 pass-through: Mediation side (the Lync analog device, AnalogFax) -> DUT
    -> far end, PCMU only, two seconds of media both ways, the Mediation side hangs up (TC-FAX-02)."""
    sq.far_server("far-fax", "call_uas_one_codec.xml", codec_keys("PCMU"), timeout_s=20)
    sq.ms_client("ms-fax", "call_uac_one_codec.xml", {**outbound(sq), **codec_keys("PCMU")}, timeout_s=20,
                 pause_ms=hold_ms)
    sq.wait_all()


def _second_call_keys(sq: CaseContext) -> dict:
    """The Mediation side's call back out to the PSTN for an inbound call (forwarding, simultaneous ring): to the
    outbound number, on behalf of the original PSTN caller, the Lync user's (inbound) number as the diverter."""
    n = sq.pixit["numbers"]
    return {"called": n["outbound_called"], "caller": n["inbound_caller"], "diverter": n["inbound_called"]}


def forwarded_to_pstn(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Lync call forwarding back out to the PSTN, two calls through the DUT: the far end calls the inbound number
    (from :data:`FAR_CALLER_PORT`, the far server holding the far port); the Mediation side rings a second and
    answers; 0.5 s after the inbound call reached it, it calls the outbound number (the forwarding target) on behalf
    of the original caller with History-Info and Diversion; the far end answers; each Mediation-side agent hangs up
    ``hold_ms`` after its answer (TC-FEA-01)."""
    sq.far_server("far-target", "call_uas.xml", timeout_s=20)
    sq.ms_server("ms-lync", "call_uas_ring_hangup.xml", timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_wait_bye.xml", inbound(sq), local_port=FAR_CALLER_PORT, timeout_s=20)
    sq.ms_client("ms-forward", "call_uac_forward.xml", _second_call_keys(sq), timeout_s=20, pause_ms=hold_ms,
                 front_backend=False)
    sq.wait_all()


def simultaneous_ring(sq: CaseContext, hold_ms: int = 1500) -> None:
    """Lync simultaneous ring to a PSTN mobile: the far end calls the inbound number (from :data:`FAR_CALLER_PORT`);
    the Mediation side rings a second and answers (the Lync client picked up); 0.3 s after the inbound call reached
    it, it also calls the outbound number (the user's mobile) with History-Info, which rings; 0.9 s after the
    mobile's 180 it cancels that losing leg (Reason: call completed elsewhere); the answered call lasts ``hold_ms``
    and the Mediation side hangs up (TC-FEA-02)."""
    sq.far_server("far-mobile", "call_uas_ring_cancel.xml", timeout_s=20)
    sq.ms_server("ms-lync", "call_uas_ring_hangup.xml", timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_wait_bye.xml", inbound(sq), local_port=FAR_CALLER_PORT, timeout_s=20)
    sq.ms_client("ms-simring", "call_uac_simring.xml", _second_call_keys(sq), timeout_s=20, pause_ms=900,
                 front_backend=False)
    sq.wait_all()
