"""TC-BAS-08..12 checks on crafted captures: the DUT faults no cheap Kamailio variant shows (a missing or wrong
Q.850 Reason, a 503 or silence for Lync's decline, a rejection never ACKed, a late 18x) FAIL with the right rule and
frame; a rejection our own callee never sent is StimulusMissing (ERROR). The lab shows 404 turned into 503 and a late
100 Trying end to end (tests/test_lab.py, faulty-404-as-503 and faulty-slow-100)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-BAS-XX-tcp-abc"
OUT_NUM, IN_NUM = "+15550002000", "+14255550123"
OUT = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=OUT_NUM)
IN = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=IN_NUM)
CT = "Content-Type: application/sdp"


def _msg(c: Capture, src: str, dst: str, start: str, leg: str, cseq: str, *extra, to_tag: str = "", dt=0.02,
         body: str = ""):
    """One message of leg ``leg`` ("a": caller <-> DUT, with our marker on requests; "b": DUT <-> callee)."""
    number = OUT_NUM if leg.startswith("a-out") or leg.startswith("b-out") else IN_NUM
    side = leg[0]
    c.udp(src, dst, sip(start, f"Via: SIP/2.0/UDP {'192.0.2.99' if side == 'a' else DUT}:5060;branch=z9hG4bK-{side}",
                        "From: <sip:+100@example.net>;tag=" + ("caller" if side == "a" else "dut"),
                        f"To: <sip:{number}@example.net>{to_tag}", f"Call-ID: {leg}@example.net", f"CSeq: {cseq}",
                        *extra, body=body), dt=dt)


def _rejected(tmp_path, spec: checks.CallSpec, status: str, relayed: str | None, *, reason: str | None = "",
              ack: bool = True, callee_rejects: bool = True):
    """Caller -> DUT -> callee; the callee answers ``status`` with Reason cause 1; the DUT ACKs it (``ack``) and
    sends the caller ``relayed`` (None: nothing) with ``reason`` (None: no Reason header; "": the callee's)."""
    out = spec is OUT
    a, b = ("a-out", "b-out") if out else ("a-in", "b-in")
    c = Capture()
    ruri = f"INVITE sip:{spec.called}@example.net SIP/2.0"
    _msg(c, spec.caller_ip, DUT, ruri, a, "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, spec.caller_ip, 30000))
    _msg(c, DUT, spec.caller_ip, "SIP/2.0 100 Trying", a, "1 INVITE")
    _msg(c, DUT, spec.callee_ip, ruri, b, "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000))
    if callee_rejects:
        _msg(c, spec.callee_ip, DUT, f"SIP/2.0 {status}", b, "1 INVITE", "Reason: Q.850;cause=1", to_tag=";tag=x")
    if ack:
        _msg(c, DUT, spec.callee_ip, f"ACK sip:{spec.called}@example.net SIP/2.0", b, "1 ACK", "Max-Forwards: 70",
             to_tag=";tag=x")
    if relayed:
        extra = [] if reason is None else [f"Reason: {reason or 'Q.850;cause=1'}"]
        _msg(c, DUT, spec.caller_ip, f"SIP/2.0 {relayed}", a, "1 INVITE", *extra, to_tag=";tag=d")
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


def test_unallocated_passed_on_with_its_cause_passes(tmp_path):
    found = checks.call_rejected(_rejected(tmp_path, OUT, "404 Not Found", "404 Not Found"), spec=OUT, status=404,
                                 cause=1, reason_required=True)
    assert not _bad(found) and {f.rule for f in found} >= {"FO-01", "FO-03", "ACK-FINAL"}


def test_unallocated_without_a_reason_is_an_fo03_finding(tmp_path):
    found = checks.call_rejected(_rejected(tmp_path, OUT, "404 Not Found", "404 Not Found", reason=None), spec=OUT,
                                 status=404, cause=1, reason_required=True)
    bad = _bad(found)
    assert [(f.rule, f.severity) for f in bad] == [("FO-03", "R")] and "observed none" in bad[0].message \
        and bad[0].frames


def test_unallocated_with_another_cause_is_an_fo03_finding(tmp_path):
    found = checks.call_rejected(_rejected(tmp_path, OUT, "404 Not Found", "404 Not Found",
                                           reason='Q.850;cause=16;text="Normal"'), spec=OUT, status=404, cause=1)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["FO-03"] and "observed cause 16" in bad[0].message


def test_a_rejection_the_dut_never_acks_fails(tmp_path):
    found = checks.call_rejected(_rejected(tmp_path, OUT, "404 Not Found", "404 Not Found", ack=False), spec=OUT,
                                 status=404, cause=1)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["ACK-FINAL"] and "an ACK from the DUT for our 404" in bad[0].message


@pytest.mark.parametrize("relayed, ok", [("603 Decline", True), ("480 Temporarily Unavailable", True),
                                         ("503 Service Unavailable", False), (None, False)])
def test_decline_must_reach_the_pstn_caller_as_a_4xx_or_6xx(tmp_path, relayed, ok):
    found = checks.call_rejected(_rejected(tmp_path, IN, "603 Decline", relayed), spec=IN, status=603,
                                 accept=["4xx", "6xx"], cause=1, rule="FO-03")
    bad = _bad(found)
    if ok:
        assert not bad and any(f.rule == "ACK-FINAL" for f in found), bad
    else:
        assert bad and bad[0].message.startswith("FO-03: expected 4xx or 6xx to the caller after the callee's 603")
        assert ("503 Service Unavailable" if relayed else "no final response") in bad[0].message


def test_unknown_number_as_503_fails_num01(tmp_path):
    found = checks.call_rejected(_rejected(tmp_path, IN, "404 Not Found", "503 Service Unavailable", reason=None),
                                 spec=IN, status=404, accept=[404, 604], cause=1, rule="NUM-01")
    bad = _bad(found)
    assert [f.rule for f in bad] == ["NUM-01"] and "expected 404 or 604" in bad[0].message and bad[0].frames


def test_our_missing_rejection_is_stimulus_missing(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="our 404"):
        checks.call_rejected(_rejected(tmp_path, OUT, "404 Not Found", None, ack=False, callee_rejects=False),
                             spec=OUT, status=404)


def _progress(tmp_path, trying_at: float | None, ringing_at: float | None, callee_rings: bool = True):
    """Our INVITE at t=0; the DUT's 100 at ``trying_at`` s, the callee's 180 at once, the DUT's at ``ringing_at``."""
    c = Capture()
    ruri = f"INVITE sip:{OUT_NUM}@example.net SIP/2.0"
    _msg(c, MS, DUT, ruri, "a-out", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, MS, 30000))
    t0 = c.t
    _msg(c, DUT, FAR, ruri, "b-out", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000), dt=0.001)
    if callee_rings:
        _msg(c, FAR, DUT, "SIP/2.0 180 Ringing", "b-out", "1 INVITE", to_tag=";tag=x", dt=0.001)
    for at, status in sorted(((trying_at, "100 Trying"), (ringing_at, "180 Ringing")),
                             key=lambda e: e[0] if e[0] is not None else 1e9):
        if at is not None:
            _msg(c, DUT, MS, f"SIP/2.0 {status}", "a-out", "1 INVITE",
                 to_tag="" if status.startswith("100") else ";tag=d", dt=max(0.0, t0 + at - c.t))
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def test_prompt_100_and_18x_pass(tmp_path):
    assert not _bad(checks.call_progress(_progress(tmp_path, 0.01, 0.02), spec=OUT))


def test_late_100_fails_sig01(tmp_path):
    bad = _bad(checks.call_progress(_progress(tmp_path, 2.0, 2.1), spec=OUT))
    assert [f.rule for f in bad] == ["SIG-01"] and "after 2000 ms" in bad[0].message and "1.5 s" in bad[0].message


def test_18x_after_the_fast_failover_window_fails_sig02(tmp_path):
    bad = _bad(checks.call_progress(_progress(tmp_path, 0.01, 11.0), spec=OUT))
    assert [f.rule for f in bad] == ["SIG-02"] and "after 11.0 s" in bad[0].message and bad[0].frames


def test_ringing_never_passed_on_fails_sig02(tmp_path):
    bad = _bad(checks.call_progress(_progress(tmp_path, 0.01, None), spec=OUT))
    assert [f.rule for f in bad] == ["SIG-02"] and "though the callee rang" in bad[0].message


def test_no_ringing_from_our_callee_is_stimulus_missing(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="our 18x"):
        checks.call_progress(_progress(tmp_path, 0.01, None, callee_rings=False), spec=OUT)


def _no_answer(tmp_path, dut_final: str | None, *, release: bool = True, we_cancel: bool = False):
    """Our INVITE; the callee rings and the DUT passes the 180 on; 10 s later the DUT ends the call with
    ``dut_final`` (CANCELling the callee when ``release``), or, ``we_cancel``, our caller cancels after 30 s."""
    c = Capture()
    ruri = f"INVITE sip:{OUT_NUM}@example.net SIP/2.0"
    _msg(c, MS, DUT, ruri, "a-out", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
         body=sdp(1, MS, 30000))
    _msg(c, DUT, MS, "SIP/2.0 100 Trying", "a-out", "1 INVITE")
    _msg(c, DUT, FAR, ruri, "b-out", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000))
    _msg(c, FAR, DUT, "SIP/2.0 180 Ringing", "b-out", "1 INVITE", to_tag=";tag=x")
    _msg(c, DUT, MS, "SIP/2.0 180 Ringing", "a-out", "1 INVITE", to_tag=";tag=d")
    if dut_final:
        if release:
            _msg(c, DUT, FAR, f"CANCEL sip:{OUT_NUM}@example.net SIP/2.0", "b-out", "1 CANCEL", dt=10.0)
        _msg(c, DUT, MS, f"SIP/2.0 {dut_final}", "a-out", "1 INVITE", to_tag=";tag=d", dt=0.01 if release else 10.0)
    if we_cancel:
        _msg(c, MS, DUT, f"CANCEL sip:{OUT_NUM}@example.net SIP/2.0", "a-out", "1 CANCEL",
             f"{checks.MARKER}: {TEST_ID}", dt=30.0)
        _msg(c, DUT, MS, "SIP/2.0 200 OK", "a-out", "1 CANCEL", to_tag=";tag=d")
        _msg(c, DUT, MS, "SIP/2.0 487 Request Terminated", "a-out", "1 INVITE", to_tag=";tag=d")
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def test_no_answer_timer_with_408_and_release_passes(tmp_path):
    found = checks.call_no_answer(_no_answer(tmp_path, "408 Request Timeout"), spec=OUT)
    assert not _bad(found) and any(f.rule == "FO-01" and "408 Request Timeout 10.0 s after" in f.message
                                   for f in found)


def test_no_answer_as_503_fails_fo01(tmp_path):
    bad = _bad(checks.call_no_answer(_no_answer(tmp_path, "503 Service Unavailable"), spec=OUT))
    assert [f.rule for f in bad] == ["FO-01"] and bad[0].message.startswith("FO-01: expected 408 or 480 to the caller")
    assert "503 Service Unavailable" in bad[0].message and bad[0].frames


def test_no_answer_without_releasing_the_callee_fails(tmp_path):
    bad = _bad(checks.call_no_answer(_no_answer(tmp_path, "480 Temporarily Unavailable", release=False), spec=OUT))
    assert [f.rule for f in bad] == ["CALL-RELEASE"] and "no CANCEL or BYE" in bad[0].message


def test_no_timer_within_the_bound_is_recorded_not_failed(tmp_path):
    found = checks.call_no_answer(_no_answer(tmp_path, None, we_cancel=True), spec=OUT, bound_s=30)
    assert not _bad(found)
    note = [f for f in found if f.rule == "FO-01"]
    assert note and "its no-answer timer, if any, is longer" in note[0].message and "487" in note[0].message


def test_no_answer_without_our_cancel_is_stimulus_missing(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="our CANCEL"):
        checks.call_no_answer(_no_answer(tmp_path, None), spec=OUT)


def _delayed_offer(tmp_path, *, dut_200_sdp: bool = True, dut_ack_sdp: bool = True, dut_answers: bool = True):
    """Far caller -> DUT -> Mediation callee, INVITE without SDP relayed as such; the callee offers in its 200."""
    c = Capture()
    ruri = f"INVITE sip:{IN_NUM}@example.net SIP/2.0"
    _msg(c, FAR, DUT, ruri, "a-in", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}")
    _msg(c, DUT, FAR, "SIP/2.0 100 Trying", "a-in", "1 INVITE")
    _msg(c, DUT, MS, ruri, "b-in", "1 INVITE", "Max-Forwards: 69")
    _msg(c, MS, DUT, "SIP/2.0 200 OK", "b-in", "1 INVITE", CT, to_tag=";tag=x", body=sdp(1, MS, 30000, pts=(0,)))
    if dut_answers:
        _msg(c, DUT, FAR, "SIP/2.0 200 OK", "a-in", "1 INVITE", *([CT] if dut_200_sdp else []), to_tag=";tag=d",
             body=sdp(1, DUT, 40000, pts=(0,)) if dut_200_sdp else "")
        _msg(c, FAR, DUT, f"ACK sip:{IN_NUM}@example.net SIP/2.0", "a-in", "1 ACK", "Max-Forwards: 70", CT,
             f"{checks.MARKER}: {TEST_ID}", to_tag=";tag=d", body=sdp(1, FAR, 50000, pts=(0,)))
        _msg(c, DUT, MS, f"ACK sip:{IN_NUM}@example.net SIP/2.0", "b-in", "1 ACK", "Max-Forwards: 69",
             *([CT] if dut_ack_sdp else []), to_tag=";tag=x", body=sdp(1, DUT, 40002, pts=(0,)) if dut_ack_sdp else "")
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def test_delayed_offer_without_our_media_is_stimulus_missing(tmp_path):
    """Up to the media (which this capture lacks: our own RTP missing is StimulusMissing, not a DUT fault)."""
    with pytest.raises(checks.StimulusMissing, match="our RTP"):
        checks.delayed_offer_call(_delayed_offer(tmp_path), spec=IN)


def test_delayed_offer_answer_not_carried_to_the_offerer_fails(tmp_path):
    found = checks.delayed_offer_call(_delayed_offer(tmp_path, dut_ack_sdp=False), spec=IN)
    assert any(f.ok and "relayed the delayed offer" in f.message for f in found)
    bad = _bad(found)
    assert [f.rule for f in bad] == ["SIG-08"] and "an ACK without SDP" in bad[0].message and bad[0].frames


def test_delayed_offer_200_without_an_offer_fails(tmp_path):
    bad = _bad(checks.delayed_offer_call(_delayed_offer(tmp_path, dut_200_sdp=False), spec=IN))
    assert [f.rule for f in bad] == ["MED-01"] and "whose INVITE had none" in bad[0].message


def test_delayed_offer_never_answered_fails(tmp_path):
    bad = _bad(checks.delayed_offer_call(_delayed_offer(tmp_path, dut_answers=False), spec=IN))
    assert [f.rule for f in bad] == ["CALL-ANSWER"] and "no final response" in bad[0].message
