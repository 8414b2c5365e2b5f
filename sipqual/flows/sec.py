"""Stimuli of suite SEC (sipqual's security extension, issue 15): a call from an address outside the Mediation pool,
calls whose legs are searched for addresses of the other side (topology hiding), and TLS probes of the DUT's trunk
port (certificates it must refuse, the versions and cipher suites it accepts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import calls

if TYPE_CHECKING:
    from ..context import CaseContext

UNTRUSTED_OFFSET = 30      # the untrusted source: our Mediation-side address + 30 in its last octet (192.0.2.40)


def untrusted_address(sq: CaseContext) -> str:
    from ..lab import extra_address

    return extra_address(sq.topo.ms, UNTRUSTED_OFFSET, "TC-SEC-01 (an untrusted source beside the Mediation pool)")


def untrusted_call(sq: CaseContext) -> str:
    """TC-SEC-01: an INVITE to the outbound number from an address of ours on the Mediation side that is not a
    Mediation pool member (over the case's transport; on TLS with the pool's own valid certificate, so only the
    source address is wrong). A far end that would reject the call with 480 waits 4 s (a probe: on a good DUT nothing
    reaches it), so a DUT that lets the call through shows it by its INVITE on the far leg and leaves no pending far
    call behind. The caller is a probe too (its refusal is the point), waiting 4 s at most. Returns the untrusted
    address."""
    from .bas import _keys

    src = untrusted_address(sq)
    sq.far_server("far-reject", "call_uas_reject.xml", timeout_s=4, extra=_keys(status=480, cause=16))
    sq.probes.add("far-reject")
    sq.ms_client("ms-untrusted", "call_uac_rejected.xml", calls.outbound(sq), local_ip=src, probe=True,
                 timeout_s=4)
    sq.wait_all()
    return src
