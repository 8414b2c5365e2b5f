"""Stimuli of suite FO, the far side's failures (issue 14, TC-FO-01..06): the far end (our PSTN emulator) rejects a
call for a resource reason, is out of service, or is slow; the DUT is at its channel limit; the Mediation side
cancels a call the far end does not answer. Every failure is made by our own agents (or by their absence) and ends
with the case: the far side is answered again before a case that took it away returns."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .calls import outbound

if TYPE_CHECKING:
    from ..context import CaseContext

#: TC-FO-04: the Q.850 causes the catalogue lists, each with the SIP status our far end (a PSTN gateway of its own)
#: sends it in, by RFC 3398 section 8.2.6.1; cause 16 (normal clearing) has no rejection status there and travels in
#: 480, as cause 31 (normal, unspecified) does
CAUSE_TABLE = [(1, 404), (16, 480), (17, 486), (18, 408), (19, 480), (21, 403), (27, 502), (28, 484), (34, 503),
               (38, 503), (41, 503), (42, 503), (47, 503), (127, 500)]


def _keys(**keys) -> list[str]:
    return [a for k, v in keys.items() for a in ("-key", k, str(v))]


def no_circuit(sq: CaseContext) -> None:
    """TC-FO-01: Mediation side -> DUT -> far end, which has no free circuit: 503 with Reason Q.850;cause=34; the
    Mediation side ACKs whatever final response the DUT passes back."""
    sq.far_server("far-no-circuit", "call_uas_reject.xml", timeout_s=10, extra=_keys(status=503, cause=34))
    sq.ms_client("ms-caller", "call_uac_rejected.xml", outbound(sq), timeout_s=10)
    sq.wait_all()


def trunk_down_ids(sq: CaseContext) -> dict:
    """TC-FO-02's markers: our INVITE while the far side is out of service, and the one once it is back."""
    return {"down": sq.test_id + "-down", "up": sq.test_id + "-up"}


def trunk_out_of_service(sq: CaseContext, hold_ms: int = 500) -> None:
    """TC-FO-02: the far side is out of service (no far agent runs: nothing answers at the far peer's address, as a
    T1 that is down); the Mediation side places an OUT call and ACKs whatever final response comes (40 s at most: a
    device's INVITE timer is 32 s). Then the far side is back (our far agent answers) and a short OUT call goes
    through, which also ends whatever "far side down" state the DUT keeps, before the next case."""
    ids = trunk_down_ids(sq)
    sq.ms_client("ms-caller-down", "call_uac_rejected.xml", {**outbound(sq), "test_id": ids["down"]}, timeout_s=40)
    sq.wait_all()
    sq.far_server("far-callee", "call_uas.xml", timeout_s=15)
    sq.ms_client("ms-caller-up", "call_uac.xml", {**outbound(sq), "test_id": ids["up"]}, timeout_s=15,
                 pause_ms=hold_ms)
    sq.wait_all()


def capacity(sq: CaseContext) -> int:
    """The channel limit the DUT declares (PICS ``max_concurrent_calls``), which TC-FO-03 fills."""
    n = sq.profile.pics.get("max_concurrent_calls")
    if not n:
        from ..errors import LabError
        raise LabError("the DUT profile declares no pics.max_concurrent_calls: TC-FO-03 cannot know when it is full")
    return int(n)


def overflow_id(sq: CaseContext) -> str:
    """TC-FO-03's marker of the call beyond the DUT's capacity."""
    return sq.test_id + "-overflow"


def at_capacity(sq: CaseContext, limit: int, rate: int = 20) -> None:
    """TC-FO-03: the Mediation side places ``limit`` OUT calls (``rate`` per second), which the far end answers and
    holds; once they are all up it places one more (its own marker), which the DUT, full, must refuse. The held calls
    end (the Mediation side hangs up) 2 s after the extra call was placed."""
    settle = 1.5 + limit / rate              # every held call answered before the extra one is placed
    hold_ms = int(1000 * (settle + 2.0))     # ... and still up 2 s after it
    sq.far_server("far-callee", "call_uas.xml", timeout_s=int(settle) + 20, calls=limit)
    sq.ms_client("ms-held", "call_uac.xml", outbound(sq), timeout_s=int(settle) + 20, calls=limit,
                 pause_ms=hold_ms, extra=["-r", str(rate)])
    time.sleep(settle)
    sq.ms_client("ms-overflow", "call_uac_rejected.xml", {**outbound(sq), "test_id": overflow_id(sq)},
                 timeout_s=10, probe=True)
    sq.wait_all()


def cause_table(sq: CaseContext, table: list[tuple[int, int]] | None = None) -> None:
    """TC-FO-04: one OUT call per (cause, status) row, one after another (``-l 1``); the far end rejects call N with
    row N's status and Reason Q.850;cause (an injection file); the Mediation side ACKs whatever comes back."""
    table = table or CAUSE_TABLE
    workdir = sq.dir / "sipp-far-table"
    workdir.mkdir(parents=True, exist_ok=True)
    inf = workdir / "causes.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{status};{cause};\n" for cause, status in table))
    sq.far_server("far-table", "call_uas_reject_table.xml", timeout_s=30, calls=len(table), extra=["-inf", str(inf)])
    sq.ms_client("ms-caller", "call_uac_rejected.xml", outbound(sq), timeout_s=30, calls=len(table),
                 extra=["-l", "1"])
    sq.wait_all()


def cancel_delay(sq: CaseContext) -> float:
    """TC-FO-06: how long after the ringing our Mediation side cancels: Lync's 10 s fast-failover timer (full: 9 s
    after the 180, about 10 s after the INVITE), quick 1.5 s."""
    return sq.seconds(quick=1.5, full=9.0)


def after_id(sq: CaseContext) -> str:
    """TC-FO-06's marker of the call placed after the cancelled one."""
    return sq.test_id + "-after"


def cancel_then_call(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-FO-06: Mediation side -> DUT -> far end, which rings and never answers; the Mediation side cancels
    :func:`cancel_delay` after the 180 reached it (fast failover). Then a new OUT call (its own marker), which the far
    end answers: the channel the cancelled call held is free again."""
    sq.far_server("far-ringing", "call_uas_ring_cancel.xml", timeout_s=20)
    sq.ms_client("ms-caller", "call_uac_cancel.xml", outbound(sq), timeout_s=20,
                 pause_ms=int(1000 * cancel_delay(sq)))
    sq.wait_all()
    sq.far_server("far-callee", "call_uas.xml", timeout_s=15)
    sq.ms_client("ms-caller-after", "call_uac.xml", {**outbound(sq), "test_id": after_id(sq)}, timeout_s=15,
                 pause_ms=hold_ms)
    sq.wait_all()


def slow_alerting(sq: CaseContext) -> None:
    """TC-FO-05: Mediation side -> DUT -> far end, which answers 100 and alerts only 15 s later (a slow PSTN). The
    Mediation side behaves as Lync's fast-failover timer: it cancels 200 ms after the first 18x, or at 10 s when none
    came; the far end answers the CANCEL 200 and the INVITE 487."""
    sq.far_server("far-slow", "call_uas_slow_alert.xml", timeout_s=30)
    sq.ms_client("ms-caller", "call_uac_fast_failover.xml", outbound(sq), timeout_s=30)
    sq.wait_all()
