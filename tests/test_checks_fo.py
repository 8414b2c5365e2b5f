"""Suite FO checks on crafted captures (TC-FO-01..04, -06): the DUT faults the reference does not have (a far 503
turned into 500 or 502, 502/408/silence for a trunk out of service, 486/500/late 503 or a call sent on at capacity, a
resource cause mapped to a user status, a lost Q.850 cause, a channel not freed after a CANCEL) FAIL with the right
rule and frame; a stimulus of ours that is not in the capture is StimulusMissing (ERROR). The lab shows a far 503
turned into 502 and 486 at capacity end to end (tests/test_lab.py, faulty-503-as-502 and faulty-capacity-as-486)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.common import StimulusMissing  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-FO-XX-tcp-abc"
NUM = "+15550002000"
SPEC = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=NUM)
CT = "Content-Type: application/sdp"


def _msg(c: Capture, src: str, dst: str, start: str, leg: str, cseq: str, *extra, to_tag: str = "", dt=0.02,
         body: str = ""):
    """One message of call leg ``leg`` (its Call-ID; "a...": caller <-> DUT, "b...": DUT <-> callee)."""
    side = leg[0]
    c.udp(src, dst, sip(start, f"Via: SIP/2.0/UDP {'192.0.2.99' if side == 'a' else DUT}:5060;branch=z9hG4bK-{leg}",
                        f"From: <sip:+100@example.net>;tag={'caller' if side == 'a' else 'dut'}-{leg}",
                        f"To: <sip:{NUM}@example.net>{to_tag}", f"Call-ID: {leg}@example.net", f"CSeq: {cseq}",
                        *extra, body=body), dt=dt)


def _call(c: Capture, n: int, marker: str, *, routed: bool = True, far: tuple = (), final: str | None = None,
          final_hdrs: tuple = (), final_dt: float = 0.02, bye: bool = False):
    """Our call ``n`` (marker ``marker``): INVITE to the DUT, the DUT's INVITE to the far end (``routed``), the far
    end's response ``far`` (status line, headers...) and its ACK, the DUT's ``final`` to us (``final_hdrs``, after
    ``final_dt`` s), and our ACK (and BYE with ``bye``, for a 200)."""
    a, b = f"a{n}", f"b{n}"
    ruri = f"INVITE sip:{NUM}@example.net SIP/2.0"
    _msg(c, MS, DUT, ruri, a, "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {marker}", CT,
         body=sdp(1, MS, 30000 + 2 * n))
    _msg(c, DUT, MS, "SIP/2.0 100 Trying", a, "1 INVITE")
    if routed:
        _msg(c, DUT, FAR, ruri, b, "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000 + 2 * n))
    if far:
        _msg(c, FAR, DUT, f"SIP/2.0 {far[0]}", b, "1 INVITE", *far[1:], to_tag=";tag=x")
        if not far[0].startswith("2"):
            _msg(c, DUT, FAR, f"ACK sip:{NUM}@example.net SIP/2.0", b, "1 ACK", "Max-Forwards: 70", to_tag=";tag=x")
    if final:
        _msg(c, DUT, MS, f"SIP/2.0 {final}", a, "1 INVITE", *final_hdrs, to_tag=";tag=d", dt=final_dt)
        _msg(c, MS, DUT, f"ACK sip:{NUM}@example.net SIP/2.0", a, "1 ACK", "Max-Forwards: 70", to_tag=";tag=d")
    if bye:
        _msg(c, MS, DUT, f"BYE sip:{NUM}@example.net SIP/2.0", a, "2 BYE", "Max-Forwards: 70", to_tag=";tag=d")


def _trace(tmp_path, c: Capture):
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


# ---- TC-FO-01: no circuit (checks.call_rejected with 503 and cause 34) -----------------------------------------------
def _no_circuit(tmp_path, final: str, reason: str | None = "Reason: Q.850;cause=34"):
    c = Capture()
    _call(c, 1, TEST_ID, far=("503 Service Unavailable", "Reason: Q.850;cause=34"), final=final,
          final_hdrs=(reason,) if reason else ())
    return checks.call_rejected(_trace(tmp_path, c), spec=SPEC, status=503, cause=34, reason_required=True,
                                rule="FO-01")


def test_no_circuit_passed_on_as_503_with_cause_34_passes(tmp_path):
    found = _no_circuit(tmp_path, "503 Service Unavailable")
    assert not _bad(found) and {f.rule for f in found} >= {"FO-01", "FO-03", "ACK-FINAL"}


@pytest.mark.parametrize("status", ["500 Server Internal Error", "502 Bad Gateway", "486 Busy Here"])
def test_no_circuit_turned_into_another_status_fails_fo01(tmp_path, status):
    bad = _bad(_no_circuit(tmp_path, status))
    assert [(f.rule, f.severity) for f in bad] == [("FO-01", "M")] and status in bad[0].message and bad[0].frames


def test_no_circuit_without_its_cause_is_an_fo03_finding(tmp_path):
    bad = _bad(_no_circuit(tmp_path, "503 Service Unavailable", reason=None))
    assert [(f.rule, f.severity) for f in bad] == [("FO-03", "R")] and "observed none" in bad[0].message


# ---- TC-FO-02: trunk out of service --------------------------------------------------------------------------------
DOWN, UP = TEST_ID + "-down", TEST_ID + "-up"


def _trunk_down(tmp_path, final: str | None, *, up_final: str | None = "200 OK", far_answers: bool = False):
    c = Capture()
    _call(c, 1, DOWN, far=("200 OK",) if far_answers else (), final=final, final_dt=2.0,
          final_hdrs=("Retry-After: 5",) if final and final.startswith("503") else ())
    if up_final:
        _call(c, 2, UP, far=("200 OK",), final=up_final, bye=up_final.startswith("200"))
    return checks.trunk_down_rejected(_trace(tmp_path, c), spec=SPEC, down_id=DOWN, up_id=UP)


def test_trunk_down_answered_503_then_back_passes(tmp_path):
    found = _trunk_down(tmp_path, "503 Service Unavailable")
    assert not _bad(found) and [f.rule for f in found] == ["FO-02", "FO-02"]
    assert "tried the far side" in found[0].message and "Retry-After 5" in found[0].message


@pytest.mark.parametrize("status", ["502 Bad Gateway", "408 Request Timeout", "500 Server Internal Error",
                                    "504 Server Time-out", None])
def test_trunk_down_answered_anything_but_503_fails_fo02(tmp_path, status):
    bad = _bad(_trunk_down(tmp_path, status))
    assert [(f.rule, f.severity) for f in bad] == [("FO-02", "M")] and bad[0].frames
    assert (status or "no final response") in bad[0].message
    if status and status.startswith("502"):
        assert "does not fail over on 502" in bad[0].message


def test_trunk_still_refused_once_the_far_side_is_back_is_an_r_finding(tmp_path):
    bad = _bad(_trunk_down(tmp_path, "503 Service Unavailable", up_final="503 Service Unavailable"))
    assert [(f.rule, f.severity) for f in bad] == [("FO-02", "R")] and "503" in bad[0].message


def test_far_end_that_answered_means_the_trunk_was_not_down(tmp_path):
    with pytest.raises(StimulusMissing, match="far side out of service"):
        _trunk_down(tmp_path, "200 OK", far_answers=True)


# ---- TC-FO-03: at capacity -----------------------------------------------------------------------------------------
OVER = TEST_ID + "-overflow"


def _capacity(tmp_path, overflow: str | None, *, dt: float = 0.01, routed: bool = False, held: tuple = ("200 OK",) * 2,
              hang_up_early: bool = False, limit: int = 2):
    c = Capture()
    for n, final in enumerate(held):
        _call(c, n, TEST_ID, far=("200 OK",) if final.startswith("200") else (final,), final=final,
              bye=hang_up_early)
    _call(c, 9, OVER, routed=routed, far=("200 OK",) if routed else (), final=overflow, final_dt=dt,
          final_hdrs=("Retry-After: 5", "Reason: Q.850;cause=34") if overflow and overflow.startswith("503") else ())
    return checks.capacity_overflow(_trace(tmp_path, c), spec=SPEC, limit=limit, overflow_id=OVER)


def test_503_at_once_at_capacity_passes(tmp_path):
    found = _capacity(tmp_path, "503 Service Unavailable")
    assert not _bad(found) and "2 calls up" in found[0].message and "Retry-After 5" in found[1].message


@pytest.mark.parametrize("status", ["486 Busy Here", "500 Server Internal Error", "480 Temporarily Unavailable"])
def test_anything_but_503_at_capacity_fails_cap01(tmp_path, status):
    bad = _bad(_capacity(tmp_path, status))
    assert [(f.rule, f.severity) for f in bad] == [("CAP-01", "M")] and status in bad[0].message and bad[0].frames


def test_late_503_at_capacity_fails_cap01(tmp_path):
    bad = _bad(_capacity(tmp_path, "503 Service Unavailable", dt=3.5))
    assert [f.rule for f in bad] == ["CAP-01"] and "within 2 s" in bad[0].message and "after 35" in bad[0].message


def test_call_beyond_capacity_sent_on_fails_cap01(tmp_path):
    bad = _bad(_capacity(tmp_path, "200 OK", routed=True))
    assert [f.rule for f in bad] == ["CAP-01"] and "sent it on to the far end" in bad[0].message


def test_call_below_capacity_refused_fails_cap01(tmp_path):
    bad = _bad(_capacity(tmp_path, "503 Service Unavailable", held=("200 OK", "503 Service Unavailable")))
    assert [f.rule for f in bad] == ["CAP-01"] and "declared capacity" in bad[0].message and bad[0].frames


def test_held_calls_that_ended_before_the_extra_one_are_not_a_full_dut(tmp_path):
    with pytest.raises(StimulusMissing, match="held while the extra call came"):
        _capacity(tmp_path, "503 Service Unavailable", hang_up_early=True)


def test_fewer_held_calls_than_the_capacity_cannot_be_judged(tmp_path):
    with pytest.raises(StimulusMissing, match="3 calls of ours"):
        _capacity(tmp_path, "503 Service Unavailable", limit=3)


# ---- TC-FO-04: the cause-to-response table ----------------------------------------------------------------------
TABLE = [[17, 486], [34, 503], [127, 500]]
FAR_STATUS = {486: "486 Busy Here", 503: "503 Service Unavailable", 500: "500 Server Internal Error"}


def _table(tmp_path, finals: dict, *, reasons: dict | None = None, routed=(True, True, True)):
    c = Capture()
    for n, ((cause, status), go) in enumerate(zip(TABLE, routed)):
        reason = (reasons or {}).get(cause, f"Reason: Q.850;cause={cause}")
        _call(c, n, TEST_ID, routed=go, far=(FAR_STATUS[status], f"Reason: Q.850;cause={cause}") if go else (),
              final=finals.get(cause, FAR_STATUS[status]), final_hdrs=(reason,) if reason else ())
    return checks.cause_mapping(_trace(tmp_path, c), spec=SPEC, table=TABLE)


def test_causes_passed_on_are_recorded_and_pass(tmp_path):
    found = _table(tmp_path, {})
    assert not _bad(found)
    assert [f.message.split(": ", 1)[1].split(" (frame")[0] for f in found] == [
        "cause 17 (486 from the far end) -> 486 cause 17", "cause 34 (503 from the far end) -> 503 cause 34",
        "cause 127 (500 from the far end) -> 500 cause 127"]
    assert {f.severity for f in found} == {"I"}


def test_resource_cause_mapped_to_500_fails_fo01(tmp_path):
    bad = _bad(_table(tmp_path, {34: "500 Server Internal Error"}))
    assert [(f.rule, f.severity) for f in bad] == [("FO-01", "R")] and "503 for cause 34" in bad[0].message


def test_busy_mapped_to_503_fails_fo01(tmp_path):
    bad = _bad(_table(tmp_path, {17: "503 Service Unavailable"}))
    assert [f.rule for f in bad] == ["FO-01"] and "486 for cause 17" in bad[0].message


def test_lost_or_changed_cause_is_an_fo03_finding(tmp_path):
    bad = _bad(_table(tmp_path, {}, reasons={127: None, 34: "Reason: Q.850;cause=16"}))
    assert [(f.rule, f.severity) for f in bad] == [("FO-03", "R"), ("FO-03", "R")]
    assert "cause 16" in bad[0].message and "observed none" in bad[1].message


def test_a_row_the_dut_never_sent_on_is_a_routing_fault(tmp_path):
    bad = _bad(_table(tmp_path, {34: "503 Service Unavailable"}, routed=(True, False, True)))
    assert [f.rule for f in bad] == ["CALL-ROUTE"]


# ---- TC-FO-06: the channel is free after a CANCEL ---------------------------------------------------------------
AFTER = TEST_ID + "-after"


def _after(tmp_path, final: str | None, routed: bool = True):
    c = Capture()
    _call(c, 1, AFTER, routed=routed, far=("200 OK",) if routed else (), final=final,
          bye=bool(final and final.startswith("200")))
    return checks.channel_freed(_trace(tmp_path, c), spec=SPEC, after_id=AFTER)


def test_call_after_the_cancel_answered_passes(tmp_path):
    found = _after(tmp_path, "200 OK")
    assert not _bad(found) and found[0].rule == "FO-05"


@pytest.mark.parametrize("final,routed", [("503 Service Unavailable", False), ("486 Busy Here", False),
                                          (None, True)])
def test_channel_still_held_after_the_cancel_fails_fo05(tmp_path, final, routed):
    bad = _bad(_after(tmp_path, final, routed))
    assert [(f.rule, f.severity) for f in bad] == [("FO-05", "M")] and bad[0].frames


def test_no_call_after_the_cancel_cannot_be_judged(tmp_path):
    c = Capture()
    _call(c, 1, TEST_ID, far=("200 OK",), final="200 OK")
    with pytest.raises(StimulusMissing):
        checks.channel_freed(_trace(tmp_path, c), spec=SPEC, after_id=AFTER)


# ---- TC-FO-05: call progress despite a slow PSTN ----------------------------------------------------------------
def _slow(tmp_path, progress: str | None, *, at: float = 4.0, cancel_at: float = 10.0, far_rings: bool = False):
    """Our INVITE, the DUT's INVITE to the far end (100 only); the DUT's ``progress`` to us ``at`` s after our
    INVITE (None: none), the far end's 180 first when ``far_rings``; our CANCEL ``cancel_at`` s after the INVITE (or
    0.2 s after the progress)."""
    c = Capture()
    ruri = f"INVITE sip:{NUM}@example.net SIP/2.0"
    _msg(c, MS, DUT, ruri, "a1", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, MS, 30000))
    _msg(c, DUT, MS, "SIP/2.0 100 Trying", "a1", "1 INVITE", dt=0.01)
    _msg(c, DUT, FAR, ruri, "b1", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000), dt=0.01)
    _msg(c, FAR, DUT, "SIP/2.0 100 Trying", "b1", "1 INVITE", dt=0.01)
    spent = 0.05
    if far_rings:
        _msg(c, FAR, DUT, "SIP/2.0 180 Ringing", "b1", "1 INVITE", "Contact: <sip:far@198.51.100.10>",
             to_tag=";tag=x", dt=at - spent - 0.05)
        spent = at - 0.05
    if progress:
        _msg(c, DUT, MS, f"SIP/2.0 {progress}", "a1", "1 INVITE", "Contact: <sip:192.0.2.1:5066;transport=tcp>",
             to_tag=";tag=d", dt=at - spent)
        cancel_dt = 0.2
    else:
        cancel_dt = cancel_at - spent
    _msg(c, MS, DUT, f"CANCEL sip:{NUM}@example.net SIP/2.0", "a1", "1 CANCEL", "Max-Forwards: 70",
         f"{checks.MARKER}: {TEST_ID}", dt=cancel_dt)
    return checks.progress_despite_slow_alerting(_trace(tmp_path, c), spec=SPEC)


def test_own_183_before_10_s_passes(tmp_path):
    found = _slow(tmp_path, "183 Session Progress")
    assert not _bad(found) and "183 Session Progress after 39" in found[-1].message
    assert "before the far end alerted (the DUT's own)" in found[-1].message


def test_far_ringing_relayed_in_time_passes_and_says_so(tmp_path):
    found = _slow(tmp_path, "180 Ringing", far_rings=True)
    assert not _bad(found) and "after the far end's 180" in found[-1].message


def test_no_progress_until_the_fast_failover_cancel_fails_sig02(tmp_path):
    bad = _bad(_slow(tmp_path, None))
    assert [(f.rule, f.severity) for f in bad] == [("SIG-02", "R")] and "cancelled the call after 10.0 s" in \
        bad[0].message and bad[0].frames


def test_progress_after_10_s_fails_sig02(tmp_path):
    bad = _bad(_slow(tmp_path, "180 Ringing", at=12.0))
    assert [f.rule for f in bad] == ["SIG-02"] and "after 12.0 s" in bad[0].message


def test_no_progress_and_no_cancel_at_10_s_cannot_be_judged(tmp_path):
    with pytest.raises(StimulusMissing, match="fast-failover"):
        _slow(tmp_path, None, cancel_at=3.0)
