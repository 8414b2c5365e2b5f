"""Stimuli of the Mediation pool cases (issue 14; the lab's pool: :mod:`sipqual.pool`): IN calls that meet a pool
member out of service, so the DUT must try the pool's next member. Failure injection is bounded by the case: a
blocked member is unblocked when the call is over (and with the lab's namespace at the latest)."""

from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

from ..checks import CallSpec
from ..procs import run
from . import calls
from .xfr import transfer_target

if TYPE_CHECKING:
    from ..context import CaseContext

FAILURES = ("503", "unreachable")


@contextmanager
def unreachable(sq: CaseContext, member: int):
    """Pool member ``member`` does not answer the DUT's TCP connection attempts (its SYNs to the Mediation port of
    this transport are dropped in our namespace: no SYN-ACK, no RST) until the block ends."""
    ip, port = sq.topo.pool.member(member).ip, sq.ms_port
    rule = ["INPUT", "-d", ip, "-p", "tcp", "--dport", str(port), "--syn", "-j", "DROP"]
    run(["iptables", "-w", "2", "-I", *rule], netns=sq.topo.ms.netns)
    try:
        yield
    finally:
        run(["iptables", "-w", "2", "-D", *rule], netns=sq.topo.ms.netns, check=False)


def in_call_failover(sq: CaseContext, failure: str, hold_ms: int = 1000) -> None:
    """An IN call while pool member 1 (the first A record) is out of service (``failure``: "503", it answers 503
    Service Unavailable; "unreachable", it never accepts the connection); member 2 answers, streams G.711 for
    ``hold_ms`` and hangs up. Our agents wait for a DUT's failover as long as Lync's community timers allow (TCP
    connect 4 s), plus the call: a DUT that never fails over costs the case about 12 s."""
    if failure not in FAILURES:
        raise ValueError(f"failure {failure!r}: one of {FAILURES}")
    if failure == "503":
        sq.ms_server("ms1-503", "pool_uas_503.xml", member=1, timeout_s=10)
    sq.ms_server("ms2-callee", "call_uas_hangup.xml", member=2, timeout_s=10, pause_ms=hold_ms)
    with unreachable(sq, 1) if failure == "unreachable" else nullcontext():
        sq.far_client("far-caller", "call_uac_wait_bye.xml", calls.inbound(sq), timeout_s=12)
        sq.wait_all()


def in_call_spec(sq: CaseContext, member: int) -> CallSpec:
    """The IN call as answered by pool member ``member`` (its own address, the case's transport and port)."""
    t = sq.topo
    return CallSpec(sq.test_id, caller_ip=t.far.ip, callee_ip=t.pool.member(member).ip, dut_in_ip=t.far.peer_ip,
                    dut_out_ip=t.ms.peer_ip, called=sq.pixit["numbers"]["inbound_called"], callee_port=sq.ms_port,
                    callee_transports=(sq.transport.upper(),))


def member_ip(sq: CaseContext, member: int) -> str:
    return sq.topo.pool.member(member).ip


def out_calls_from_members(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-FO-10: each pool member places an OUT call at the same time, from its own address (ms1 to the outbound
    number, ms2 to another PSTN number of the profile, so that the DUT's far legs are told apart by number); the far
    end answers both; each caller streams G.711 for ``hold_ms`` and hangs up."""
    sq.far_server("far-callee", "call_uas.xml", timeout_s=15, calls=2)
    for member, keys in member_numbers(sq).items():
        sq.ms_client(f"ms{member}-caller", "call_uac.xml", keys, member=member, timeout_s=15, pause_ms=hold_ms)
    sq.wait_all()


def member_numbers(sq: CaseContext) -> dict[int, dict]:
    """The SIPp keys of each member's OUT call (:func:`out_calls_from_members`)."""
    first = calls.outbound(sq)
    return {1: first, 2: {**first, "called": transfer_target(sq)}}


def out_call_spec(sq: CaseContext, member: int) -> CallSpec:
    """The OUT call pool member ``member`` places (:func:`out_calls_from_members`)."""
    t = sq.topo
    return CallSpec(sq.test_id, caller_ip=member_ip(sq, member), callee_ip=t.far.ip, dut_in_ip=t.ms.peer_ip,
                    dut_out_ip=t.far.peer_ip, called=member_numbers(sq)[member]["called"])


# ---- TC-OPT-04: a member whose OPTIONS go unanswered is avoided, and used again once it answers -------------------
PING_WAIT_S = 10.0     # at most this long for the DUT's next ping to a member (it claims pings: pics.options_ping)
DOWN_MARGIN_S = 2.5    # after an unanswered ping: a DUT gives up on it (the reference after 2 s) before the call


def _wait_ping(sq: CaseContext, front, since: float, answered: bool) -> dict | None:
    """The first OPTIONS on this case's transport that ``front`` logged after ``since`` (answered or not), waiting
    at most PING_WAIT_S; None when none came (the check then says what the capture shows)."""
    from ..frontctl import read_options

    deadline = time.monotonic() + PING_WAIT_S
    while time.monotonic() < deadline:
        for rec in read_options(front.options_log):
            if rec.get("t", 0) >= since and rec.get("transport") == sq.transport and \
                    (rec.get("answered") is not None) == answered:
                return rec
        time.sleep(0.1)
    return None


@contextmanager
def silent_member(sq: CaseContext, member: int):
    """Pool member ``member`` leaves the DUT's OPTIONS unanswered (its Mediation front drops them) until the block
    ends; it answers again afterwards whatever happened."""
    front = sq.pool_member(member)[2]
    front.options_mode("drop")
    try:
        yield front
    finally:
        front.options_mode("answer")


def silent_member_avoided_then_used(sq: CaseContext, hold_ms: int = 1000) -> None:
    """TC-OPT-04: ms1 (the first A record) stops answering OPTIONS; once the DUT's next ping to it went unanswered
    (and DOWN_MARGIN_S passed) the far end calls (call 1: ms2 answers; ms1 has no agent, so an INVITE to it gets the
    front's 503). Then ms1 answers its OPTIONS again; once the DUT's next ping to it was answered, the far end calls
    again (call 2: ms1 answers). Each caller streams G.711 for ``hold_ms`` and the callee hangs up."""
    with silent_member(sq, 1) as front:
        unanswered = _wait_ping(sq, front, time.time(), answered=False)
        if unanswered is not None:
            time.sleep(max(0.0, unanswered["t"] + DOWN_MARGIN_S - time.time()))
        sq.ms_server("ms2-callee", "call_uas_hangup.xml", member=2, timeout_s=10, pause_ms=hold_ms)
        sq.far_client("far-caller-1", "call_uac_wait_bye.xml", calls.inbound(sq), timeout_s=12)
        sq.wait_all()
        recovered = time.time()
    if _wait_ping(sq, front, recovered, answered=True) is not None:
        time.sleep(0.3)          # the DUT has read the 200
    sq.ms_server("ms1-callee", "call_uas_hangup.xml", member=1, timeout_s=10, pause_ms=hold_ms)
    sq.far_client("far-caller-2", "call_uac_wait_bye.xml", calls.inbound(sq), timeout_s=12)
    sq.wait_all()
