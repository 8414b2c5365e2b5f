"""Stimuli of suite TRN on TLS: handshakes with the DUT as server (our edge connects) and as client (the DUT calls
the Mediation front)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import calls, opt

if TYPE_CHECKING:
    from ..context import CaseContext

PROBE_SUFFIX = "-nocert"


def probe_id(sq: CaseContext) -> str:
    """The marker of the probe OPTIONS sent without a client certificate."""
    return sq.test_id + PROBE_SUFFIX


def mutual_tls_server(sq: CaseContext) -> None:
    """TC-TRN-03: one OPTIONS over mutual TLS with the pool certificate (must be answered), then a probe OPTIONS on
    a connection whose client presents no certificate (the DUT must refuse it; SIPp waits 2 s at most)."""
    opt.options(sq)
    sq.ms_client("ms-probe-nocert", "options_probe.xml", {"test_id": probe_id(sq)}, present_cert=False,
                 probe=True, timeout_s=5)
    sq.wait_all()


def dut_certificate(sq: CaseContext) -> None:
    """TC-TRN-07: an OPTIONS to the DUT's trunk port over TLS, so the DUT presents its certificate as server."""
    opt.options(sq)


def dut_as_tls_client(sq: CaseContext) -> None:
    """TC-TRN-04: an IN call, which the DUT sends over TLS to the Mediation front (short hold)."""
    calls.in_call(sq, hold_ms=1000)
