"""Stimuli of suite OPT: the Mediation side probes the DUT."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import CaseContext


def options(sq: CaseContext) -> None:
    """The Mediation side sends one OPTIONS to the DUT's trunk port (TC-OPT-01)."""
    sq.ms_client("ms-options", "options_uac.xml", {}, timeout_s=5)
    sq.wait_all()


def await_pings(sq: CaseContext, count: int = 3, window_s: float = 10.0) -> int:
    """TC-OPT-03: nothing to send; wait (at most ``window_s``) until ``count`` OPTIONS pings from the DUT on this
    transport reached the Mediation front during the case (its log, lab/mediation-options.jsonl). Returns how many
    came; the check judges them from the capture."""
    from ..frontctl import read_options

    front = sq.lab.front
    start, deadline = time.time(), time.monotonic() + window_s
    while True:
        n = sum(1 for r in read_options(front.options_log)
                if r.get("transport") == sq.transport and r.get("t", 0) >= start)
        if n >= count or time.monotonic() >= deadline:
            return n
        time.sleep(0.1)
