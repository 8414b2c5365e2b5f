"""Stimuli of suite ST: session timers (RFC 4028) on calls through the DUT. The interval is the run's duration
profile (``sq.seconds``): quick 90 s (RFC 4028's minimum), full 1800 s (its recommended value), so these cases are
long by nature; their agents wait up to the interval plus 30 s. Our Mediation-side agent waits for the DUT's refresh
or BYE at most the interval plus 15 s (:func:`give_up`), then hangs up itself: its BYE shows the capture ran on
past the deadline, so a DUT that never refreshes or never hangs up FAILs rather than leaving nothing to judge."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .calls import inbound, outbound

if TYPE_CHECKING:
    from ..context import CaseContext


def interval(sq: CaseContext) -> int:
    """The session interval the case asks for (quick: the RFC 4028 minimum, 90 s; full: the recommended 1800 s)."""
    return int(sq.seconds(quick=90, full=1800))


def give_up(se: int) -> list[str]:
    """SIPp switches: our Mediation-side agent waits ``se`` + 15 s for the DUT's next request, then sends BYE."""
    return ["-recv_timeout", str((se + 15) * 1000)]


def out_call_dut_refreshes(sq: CaseContext, se: int) -> None:
    """TC-ST-02: Mediation side -> DUT -> far end; our INVITE asks Session-Expires ``se`` with refresher=uas (the
    DUT side refreshes). The far end answers with that timer and, as the refresher behind the DUT, refreshes once
    with an UPDATE se/2 after the call is up; a proxy relays it, a B2BUA refreshes the Mediation leg itself. Our
    caller answers the refresh and hangs up 1 s later."""
    sq.far_server("far-callee", "call_uas_timer_refresh.xml", {"se_answer": f"{se};refresher=uas"},
                  timeout_s=se + 30, pause_ms=se * 500)
    sq.ms_client("ms-caller", "call_uac_timer.xml", {**outbound(sq), "se": f"{se};refresher=uas"}, timeout_s=se + 30,
                 extra=give_up(se))
    sq.wait_all()


def out_call_refresh_withheld(sq: CaseContext, se: int) -> None:
    """TC-ST-04: Mediation side -> DUT -> far end; our INVITE asks Session-Expires ``se`` with refresher=uac (we
    refresh) and we never do. The far end answers with the same timer and never refreshes either. The DUT must end
    the call with a BYE before the session expires; both our agents answer it."""
    sq.far_server("far-callee", "call_uas_timer.xml", {"se_answer": f"{se};refresher=uac"}, timeout_s=se + 30)
    sq.ms_client("ms-caller", "call_uac_timer.xml", {**outbound(sq), "se": f"{se};refresher=uac"}, timeout_s=se + 30,
                 extra=give_up(se))
    sq.wait_all()


def in_call_dut_timer(sq: CaseContext, se: int) -> None:
    """TC-ST-01 (EnableSessionTimer=False on the Mediation side): far end -> DUT -> Mediation side; the far caller
    asks Session-Expires ``se`` with refresher=uac and refreshes with an UPDATE se/2 after the call is up. Our
    Mediation callee asks for no timer of its own and honours the one the DUT's INVITE carries (its 200 copies it,
    naming refresher=uac when the DUT named none); it answers the DUT's refresh and hangs up 1 s later."""
    sq.ms_server("ms-callee", "call_uas_timer_honour.xml", timeout_s=se + 30, extra=give_up(se))
    sq.far_client("far-caller", "call_uac_timer_refresh.xml", {**inbound(sq), "se": f"{se};refresher=uac"},
                  timeout_s=se + 30, pause_ms=se * 500)
    sq.wait_all()


#: the Min-SE our Mediation callee's 422 asks (TC-ST-03): the catalogue's 1800 s; the call itself lasts seconds
MIN_SE_422 = 1800


def in_call_session_too_small(sq: CaseContext, min_se: int = MIN_SE_422, hold_ms: int = 1000) -> None:
    """TC-ST-03: far end -> DUT -> Mediation side; the far caller asks Session-Expires 90 (Min-SE 90); our Mediation
    callee answers the first INVITE 422 with Min-SE ``min_se`` and answers the retry (with that timer, the DUT
    refresher), then hangs up after ``hold_ms``. A proxy relays the 422 and our far caller retries (RFC 4028 7.1);
    a B2BUA may retry itself."""
    sq.ms_server("ms-callee", "call_uas_422.xml", {"min_se": min_se}, timeout_s=20, pause_ms=hold_ms)
    sq.far_client("far-caller", "call_uac_422.xml", inbound(sq), timeout_s=20)
    sq.wait_all()
