"""Stimuli of a basic call through the DUT (suites TRN and BAS), and where its legs enter and leave the DUT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..checks import CallSpec

if TYPE_CHECKING:
    from ..context import CaseContext


def outbound(sq: CaseContext) -> dict:
    """The SIPp keys of a call the Mediation side places: the outbound called and calling numbers (PIXIT)."""
    n = sq.pixit["numbers"]
    return {"called": n["outbound_called"], "caller": n["outbound_caller"]}


def inbound(sq: CaseContext) -> dict:
    """The SIPp keys of a call the far end places: the inbound called and calling numbers (PIXIT)."""
    n = sq.pixit["numbers"]
    return {"called": n["inbound_called"], "caller": n["inbound_caller"]}


def out_call(sq: CaseContext, hold_ms: int = 2000) -> None:
    """Mediation side -> DUT -> far end; G.711 both ways; the Mediation side hangs up."""
    sq.far_server("far-callee", "call_uas.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac.xml", outbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()


def in_call(sq: CaseContext, hold_ms: int = 2000) -> None:
    """Far end -> DUT -> Mediation side; G.711 both ways; the Mediation side (callee) hangs up."""
    sq.ms_server("ms-callee", "call_uas_hangup.xml", timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_wait_bye.xml", inbound(sq), timeout_s=20)
    sq.wait_all()


def out_call_spec(sq: CaseContext) -> CallSpec:
    """An OUT call: our Mediation-side caller, the DUT's trunk address, the DUT's far address, our far callee."""
    t = sq.topo
    return CallSpec(sq.test_id, caller_ip=t.ms.ip, callee_ip=t.far.ip, dut_in_ip=t.ms.peer_ip,
                    dut_out_ip=t.far.peer_ip, called=sq.pixit["numbers"]["outbound_called"])


def in_call_spec(sq: CaseContext) -> CallSpec:
    """An IN call: the DUT must send it over the case's transport to the Mediation port (TRN-01, TRN-03)."""
    t = sq.topo
    return CallSpec(sq.test_id, caller_ip=t.far.ip, callee_ip=t.ms.ip, dut_in_ip=t.far.peer_ip,
                    dut_out_ip=t.ms.peer_ip, called=sq.pixit["numbers"]["inbound_called"], callee_port=sq.ms_port,
                    callee_transports=(sq.transport.upper(),))
