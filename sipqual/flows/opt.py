"""Stimuli of suite OPT: the Mediation side probes the DUT."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import CaseContext


def options(sq: CaseContext) -> None:
    """The Mediation side sends one OPTIONS to the DUT's trunk port (TC-OPT-01)."""
    sq.ms_client("ms-options", "options_uac.xml", {}, timeout_s=5)
    sq.wait_all()
