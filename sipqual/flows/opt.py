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


def mf0_id(sq: CaseContext) -> str:
    """The marker of TC-OPT-05's out-of-dialog OPTIONS with Max-Forwards 0."""
    return sq.test_id + "-mf0"


def in_dialog_and_mf0(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-OPT-05: an OUT call; once it is up (``hold_ms`` of media) the Mediation side sends an in-dialog OPTIONS
    (waits 3 s at most for its answer), then hangs up; then an out-of-dialog OPTIONS with Max-Forwards 0 to the
    DUT (waits 2 s at most). The far end answers a relayed in-dialog OPTIONS with 200."""
    from .calls import outbound

    sq.far_server("far-callee", "call_uas_options.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac_options.xml", outbound(sq), timeout_s=20, pause_ms=hold_ms)
    sq.wait_all()
    sq.ms_client("ms-options-mf0", "options_mf0.xml", {"test_id": mf0_id(sq)}, timeout_s=5)
    sq.wait_all()


def far_down_ids(sq: CaseContext) -> dict:
    """TC-OPT-02's markers: our INVITE and OPTIONS while the far side is down, and again once it is back."""
    t = sq.test_id
    return {"invite_down": t + "-down", "options_down": t + "-down-options", "invite_up": t + "-up",
            "options_up": t + "-up-options"}


def options_while_far_down(sq: CaseContext, hold_ms: int = 500) -> None:
    """TC-OPT-02: the far side is down (no far-end agent runs: nothing answers at the far peer's address); the
    Mediation side places an OUT call (it takes and ACKs whatever final response comes, waiting 40 s at most: a
    device's INVITE timer is 32 s) and, once that is over, sends an out-of-dialog OPTIONS. Then the far side comes
    back (our far agent answers): a short OUT call, and another OPTIONS, so the answers are compared both ways."""
    from .calls import outbound

    ids = far_down_ids(sq)
    sq.ms_client("ms-caller-down", "call_uac_rejected.xml", {**outbound(sq), "test_id": ids["invite_down"]},
                 timeout_s=40)
    sq.wait_all()
    sq.ms_client("ms-options-down", "options_any.xml", {"test_id": ids["options_down"]}, timeout_s=8)
    sq.wait_all()
    sq.far_server("far-callee", "call_uas.xml", timeout_s=15)
    sq.ms_client("ms-caller-up", "call_uac.xml", {**outbound(sq), "test_id": ids["invite_up"]}, timeout_s=15,
                 pause_ms=hold_ms)
    sq.wait_all()
    sq.ms_client("ms-options-up", "options_any.xml", {"test_id": ids["options_up"]}, timeout_s=8)
    sq.wait_all()
