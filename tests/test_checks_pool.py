"""TC-FO-07/08 (the Mediation pool, issue 14) on crafted captures: a DUT that fails over to the pool's next member
PASSes with the time recorded; one that never tries another member FAILs FO-06 with the frame of what the caller got;
a capture where the failure was never injected (the DUT reached the member that was to be unreachable, or never met
the 503) is StimulusMissing (ERROR), never a verdict on the DUT. The lab shows the same end to end
(tests/test_lab.py: reference-sbc-pool.yaml and faulty-no-pool-failover.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

MS2 = "192.0.2.11"
MAC.setdefault(MS2, "02:00:00:00:00:0c")
TEST_ID = "TC-FO-XX-tcp-abc"
IN_NUM = "+14255550123"
SPEC = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS2, dut_in_ip=DUT, dut_out_ip=DUT, called=IN_NUM,
                       callee_port=5068)
CT = "Content-Type: application/sdp"


def _msg(c: Capture, src: str, dst: str, start: str, leg: str, cseq: str, *extra, to_tag: str = "", dt=0.02,
         body: str = ""):
    c.udp(src, dst, sip(start, f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{leg}-{cseq.split()[0]}",
                        "From: <sip:+15550001000@example.net>;tag=" + ("caller" if leg == "a" else "dut"),
                        f"To: <sip:{IN_NUM}@example.net>{to_tag}", f"Call-ID: {leg}@example.net", f"CSeq: {cseq}",
                        *extra, body=body), dt=dt)


def _syn(c: Capture, src: str, dst: str, dport: int, dt: float):
    c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
            TCP(sport=41000, dport=dport, flags="S", seq=1, window=65535), dt)


def _capture(tmp_path, *, first: str | None, retry: bool, caller_gets: str, retry_dt: float = 0.05, syns: int = 0):
    """Far caller -> DUT; ``first``: what member 1 does ("503": the DUT's INVITE reaches it and it answers 503,
    "answers": it gets the INVITE (no 503), None: nothing reaches it); ``syns``: the DUT's unanswered SYNs to member
    1's port 5068 (an unreachable member), 1 s apart; ``retry``: the DUT then sends the INVITE to member 2
    (``retry_dt`` s later), which answers 200; ``caller_gets``: the DUT's final response to the caller."""
    c = Capture()
    ruri = f"INVITE sip:{IN_NUM}@example.net SIP/2.0"
    _msg(c, FAR, DUT, ruri, "a", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, FAR, 30000))
    _msg(c, DUT, FAR, "SIP/2.0 100 Trying", "a", "1 INVITE")
    for n in range(syns):
        _syn(c, DUT, MS, 5068, 0.01 if n == 0 else 1.0)
    if first is not None:
        _msg(c, DUT, MS, ruri, "b1", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000))
        if first == "503":
            _msg(c, MS, DUT, "SIP/2.0 503 Service Unavailable", "b1", "1 INVITE", to_tag=";tag=m1")
            _msg(c, DUT, MS, f"ACK sip:{IN_NUM}@example.net SIP/2.0", "b1", "1 ACK", "Max-Forwards: 70",
                 to_tag=";tag=m1")
    if retry:
        _msg(c, DUT, MS2, ruri, "b2", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40002), dt=retry_dt)
        _msg(c, MS2, DUT, "SIP/2.0 200 OK", "b2", "1 INVITE", CT, to_tag=";tag=m2", body=sdp(1, MS2, 20000))
    _msg(c, DUT, FAR, f"SIP/2.0 {caller_gets}", "a", "1 INVITE", *([CT] if caller_gets.startswith("200") else []),
         to_tag=";tag=d", body=sdp(1, DUT, 40004) if caller_gets.startswith("200") else "")
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def _judge(trace, failure):
    return checks.pool_failover(trace, spec=SPEC, first_ip=MS, failure=failure)


def test_retry_on_the_next_member_after_a_503_passes_with_the_delay_recorded(tmp_path):
    found = _judge(_capture(tmp_path, first="503", retry=True, caller_gets="200 OK", retry_dt=0.25), "503")
    assert [f.ok for f in found] == [True] and found[0].rule == "FO-06"
    assert "answered 503" in found[0].message and "s after that 503" in found[0].message
    assert len(found[0].frames) == 2


def test_a_503_never_followed_by_the_next_member_is_an_fo06_finding(tmp_path):
    found = _judge(_capture(tmp_path, first="503", retry=False, caller_gets="500 Service Unavailable"), "503")
    assert [(f.rule, f.ok) for f in found] == [("FO-06", False)]
    assert "observed none" in found[0].message and "500 Service Unavailable" in found[0].message
    assert found[0].frames   # the frame of what the caller got


def test_an_unreachable_member_given_up_passes_with_the_time_to_the_next_member(tmp_path):
    found = _judge(_capture(tmp_path, first=None, syns=3, retry=True, caller_gets="200 OK", retry_dt=1.0),
                   "unreachable")
    assert [f.ok for f in found] == [True]
    msg = found[0].message
    assert "did not accept the DUT's connection (3 SYN(s) unanswered" in msg and " s after our INVITE" in msg
    assert "s after its first SYN to 192.0.2.10" in msg and len(found[0].frames) == 3


def test_an_unreachable_member_never_followed_by_the_next_is_an_fo06_finding(tmp_path):
    found = _judge(_capture(tmp_path, first=None, syns=2, retry=False, caller_gets="408 Request Timeout"),
                   "unreachable")
    assert [(f.rule, f.ok) for f in found] == [("FO-06", False)] and "408 Request Timeout" in found[0].message


def test_a_dut_that_never_tried_the_unreachable_member_could_not_be_tested(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="without trying to connect"):
        _judge(_capture(tmp_path, first=None, retry=True, caller_gets="200 OK"), "unreachable")


def test_syns_to_another_port_are_not_attempts_on_the_member(tmp_path):
    c_path = _capture(tmp_path, first=None, syns=1, retry=False, caller_gets="408 Request Timeout")
    from sipqual.checks.pool import connection_attempts
    assert len(connection_attempts(c_path, DUT, MS, 5068)) == 1 and connection_attempts(c_path, DUT, MS, 5067) == []
    assert connection_attempts(c_path, MS, DUT, None) == []


def test_a_member_that_was_to_be_unreachable_but_got_the_invite_is_an_error_not_a_verdict(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="never injected"):
        _judge(_capture(tmp_path, first="answers", retry=True, caller_gets="200 OK"), "unreachable")


def test_a_dut_that_picked_the_second_member_first_could_not_be_tested(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="without trying"):
        _judge(_capture(tmp_path, first=None, retry=True, caller_gets="200 OK"), "503")


def test_a_missing_503_from_our_member_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="503"):
        _judge(_capture(tmp_path, first="answers", retry=True, caller_gets="200 OK"), "503")


def test_no_invite_to_any_member_is_a_routing_finding(tmp_path):
    found = _judge(_capture(tmp_path, first=None, retry=False, caller_gets="503 Service Unavailable"), "503")
    assert [(f.rule, f.ok) for f in found] == [("CALL-ROUTE", False)]


def test_an_unknown_failure_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        _judge(_capture(tmp_path, first="503", retry=True, caller_gets="200 OK"), "slow")


# ---- TC-FO-10: INVITEs from either pool member accepted -------------------------------------------------------------
OUT2 = checks.CallSpec(TEST_ID, caller_ip=MS2, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called="+15550003000")


def _member_call(tmp_path, answer: str | None):
    """ms2 sends an INVITE with our marker; the DUT answers ``answer`` (None: nothing)."""
    c = Capture()
    _msg(c, MS2, DUT, "INVITE sip:+15550003000@sbc.lab.example SIP/2.0", "m2", "1 INVITE", "Max-Forwards: 70",
         f"{checks.MARKER}: {TEST_ID}", CT, body=sdp(1, MS2, 30000))
    if answer:
        _msg(c, DUT, MS2, f"SIP/2.0 {answer}", "m2", "1 INVITE", to_tag=";tag=d")
    path = tmp_path / "m.pcapng"
    c.write(path)
    return read_trace(path)


def test_second_member_answered_200_passes(tmp_path):
    found = checks.member_accepted(_member_call(tmp_path, "200 OK"), spec=OUT2, member="ms2")
    assert [(f.rule, f.ok) for f in found] == [("TRN-05", True)] and "ms2 (192.0.2.11" in found[0].message


@pytest.mark.parametrize("answer", ["403 Forbidden", None])
def test_second_member_refused_or_ignored_is_a_trn05_finding(tmp_path, answer):
    found = checks.member_accepted(_member_call(tmp_path, answer), spec=OUT2, member="ms2")
    assert [(f.rule, f.ok) for f in found] == [("TRN-05", False)] and found[0].frames
    assert (answer or "no final response") in found[0].message


def test_no_invite_from_the_second_member_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="pool member ms2"):
        checks.member_accepted(_member_call(tmp_path, "200 OK"), spec=checks.CallSpec(
            "other-test", caller_ip=MS2, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called="+1"), member="ms2")


# ---- TC-OPT-04: a silent member avoided, used again once it answers ------------------------------------------------
def _ping(c: Capture, n: int, answered: bool):
    _msg(c, DUT, MS, "OPTIONS sip:192.0.2.10:5068;transport=tcp SIP/2.0", f"ka{n}", f"{n} OPTIONS",
         "Max-Forwards: 70")
    if answered:
        _msg(c, MS, DUT, "SIP/2.0 200 OK", f"ka{n}", f"{n} OPTIONS", to_tag=";tag=ms")


def _call(c: Capture, n: int, to: str):
    ruri = f"INVITE sip:{IN_NUM}@example.net SIP/2.0"
    _msg(c, FAR, DUT, ruri, f"a{n}", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, FAR, 30000))
    _msg(c, DUT, to, ruri, f"b{n}", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000))
    _msg(c, to, DUT, "SIP/2.0 200 OK", f"b{n}", "1 INVITE", CT, to_tag=";tag=m", body=sdp(1, to, 20000))
    _msg(c, DUT, FAR, "SIP/2.0 200 OK", f"a{n}", "1 INVITE", CT, to_tag=";tag=d", body=sdp(1, DUT, 40004))


def _silence(tmp_path, first_to=MS2, second_to=MS, silent_ping=True, recovered_ping=True, calls=2):
    c = Capture()
    _ping(c, 1, answered=True)
    _ping(c, 2, answered=not silent_ping)
    _call(c, 1, first_to)
    _ping(c, 3, answered=recovered_ping)
    if calls > 1:
        _call(c, 2, second_to)
    path = tmp_path / "s.pcapng"
    c.write(path)
    return checks.silent_member_avoided(read_trace(path), spec=SPEC, silent_ip=MS, other_ip=MS2)


def test_silent_member_avoided_and_used_again_passes(tmp_path):
    found = _silence(tmp_path)
    assert [(f.rule, f.ok) for f in found] == [("OPT-04", True), ("OPT-04", True)]
    assert "avoided 192.0.2.10" in found[0].message and "sent to 192.0.2.10 again" in found[1].message


def test_a_call_sent_to_the_silent_member_is_an_opt04_finding(tmp_path):
    found = _silence(tmp_path, first_to=MS)
    assert [(f.rule, f.ok) for f in found] == [("OPT-04", False), ("OPT-04", True)]
    assert "the DUT's INVITE went to 192.0.2.10" in found[0].message and found[0].frames


def test_a_recovered_member_kept_down_is_an_opt04_finding(tmp_path):
    found = _silence(tmp_path, second_to=MS2)
    assert [(f.rule, f.ok) for f in found] == [("OPT-04", True), ("OPT-04", False)]
    assert "the recovered member kept down" in found[1].message


@pytest.mark.parametrize("kw, match", [({"silent_ping": False}, "never shown to the DUT"),
                                       ({"recovered_ping": False}, "recovery was never shown"),
                                       ({"calls": 1}, "two IN calls")])
def test_silence_or_recovery_not_shown_is_an_error(tmp_path, kw, match):
    with pytest.raises(checks.StimulusMissing, match=match):
        _silence(tmp_path, **kw)
