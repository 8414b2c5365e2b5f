"""Active call checks on crafted captures: a DUT omission that stopped our agent is a FAIL with its frame; a gap in
our own stimulus that nothing the DUT did explains is StimulusMissing (ERROR). The lab proves the same end to end
with faulty variants (tests/test_lab.py); these prove the branches no variant reaches cheaply."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-X-tcp-abc"
CALLED = "+15550002000"
SPEC = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)
CT = "Content-Type: application/sdp"


def _ours(c: Capture, method: str, cseq: int, *extra, body: str = "", to_tag: str = ""):
    c.udp(MS, DUT, sip(f"{method} sip:{CALLED}@sbc.lab.example SIP/2.0",
                       f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-ms-{method.lower()}{cseq}", "Max-Forwards: 70",
                       "From: <sip:+14255550100@ms1.lab.example>;tag=ms1",
                       f"To: <sip:{CALLED}@sbc.lab.example>{to_tag}", "Call-ID: ms-call@192.0.2.10",
                       f"CSeq: {cseq} {method}", "Contact: <sip:ms@192.0.2.10:5060>", f"{checks.MARKER}: {TEST_ID}",
                       *extra, body=body))


def _to_ms(c: Capture, status: str, cseq: str = "1 INVITE", *extra, body: str = ""):
    c.udp(DUT, MS, sip(f"SIP/2.0 {status}", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms-invite1",
                       "From: <sip:+14255550100@ms1.lab.example>;tag=ms1",
                       f"To: <sip:{CALLED}@sbc.lab.example>" + (";tag=dut1" if not status.startswith("100") else ""),
                       "Call-ID: ms-call@192.0.2.10", f"CSeq: {cseq}", "Contact: <sip:gw@192.0.2.1:5060>",
                       *extra, body=body))


def _far_leg(c: Capture, *statuses: str):
    via = "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-dut-b1"
    frm, to, cid = "From: <sip:+14255550100@sbc.lab.example>;tag=dutb", f"To: <sip:{CALLED}@far.example>", \
        "Call-ID: b-leg@192.0.2.1"
    c.udp(DUT, FAR, sip(f"INVITE sip:{CALLED}@far.example SIP/2.0", via, "Max-Forwards: 70", frm, to, cid,
                        "CSeq: 1 INVITE", "Contact: <sip:gw@192.0.2.1:5060>", CT, body=sdp(1, DUT, 40000)))
    for st in statuses:
        body = sdp(1, FAR, 50000, pts=(0,)) if st.startswith("200") else ""
        c.udp(FAR, DUT, sip(f"SIP/2.0 {st}", via, frm, to + (";tag=far1" if not st.startswith("100") else ""), cid,
                            "CSeq: 1 INVITE", "Contact: <sip:far@198.51.100.10:5060>", *([CT] if body else []),
                            body=body))


def _trace(c: Capture, tmp_path: Path):
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def _ringing_not_passed_on(tmp_path, relay_180: bool):
    c = Capture()
    _ours(c, "INVITE", 1, CT, body=sdp(1, MS, 30000))
    _to_ms(c, "100 Trying")
    _far_leg(c, "100 Trying", "180 Ringing")
    if relay_180:
        _to_ms(c, "180 Ringing")
    return _trace(c, tmp_path)


def test_cancel_case_fails_when_the_dut_never_passes_the_ringing_on(tmp_path):
    found = checks.call_cancelled(_ringing_not_passed_on(tmp_path, relay_180=False), spec=SPEC)
    bad = [f for f in found if not f.ok]
    assert [f.rule for f in bad] == ["SIG-02"] and "no 18x from the DUT" in bad[0].message and bad[0].frames


def test_cancel_case_is_error_when_our_cancel_is_missing_for_no_reason_of_the_dut(tmp_path):
    with pytest.raises(checks.StimulusMissing, match="our CANCEL"):
        checks.call_cancelled(_ringing_not_passed_on(tmp_path, relay_180=True), spec=SPEC)


def _answered_call(tmp_path, dut_hangs_up: bool):
    c = Capture()
    _ours(c, "INVITE", 1, CT, body=sdp(1, MS, 30000))
    _to_ms(c, "100 Trying")
    _far_leg(c, "100 Trying", "200 OK")
    c.udp(DUT, FAR, sip("ACK sip:far@198.51.100.10:5060 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-a",
                        "Max-Forwards: 70", "From: <sip:+14255550100@sbc.lab.example>;tag=dutb",
                        f"To: <sip:{CALLED}@far.example>;tag=far1", "Call-ID: b-leg@192.0.2.1", "CSeq: 1 ACK"))
    _to_ms(c, "200 OK", "1 INVITE", CT, body=sdp(1, DUT, 40002))
    _ours(c, "ACK", 1, to_tag=";tag=dut1")
    if dut_hangs_up:
        c.udp(DUT, MS, sip("BYE sip:ms@192.0.2.10:5060 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-bye",
                           "Max-Forwards: 70", f"From: <sip:{CALLED}@sbc.lab.example>;tag=dut1",
                           "To: <sip:+14255550100@ms1.lab.example>;tag=ms1", "Call-ID: ms-call@192.0.2.10",
                           "CSeq: 1 BYE"), dt=0.3)
    return _trace(c, tmp_path)


def test_dut_hanging_up_before_our_bye_fails_instead_of_error(tmp_path):
    found = checks.basic_call(_answered_call(tmp_path, dut_hangs_up=True), spec=SPEC, hangup_by="caller")
    bad = [f for f in found if not f.ok]
    assert bad and bad[0].rule == "CALL-UP" and "a BYE from the DUT" in bad[0].message and bad[0].frames


def test_our_missing_media_with_no_dut_fault_is_stimulus_missing(tmp_path):
    """Without RTP from our own agents the DUT's relaying cannot be judged: ERROR, never a MED-02 FAIL."""
    with pytest.raises(checks.StimulusMissing, match="our RTP caller -> DUT"):
        checks.basic_call(_answered_call(tmp_path, dut_hangs_up=False), spec=SPEC, hangup_by="caller")
