"""TC-BAS-14 (RFC3261-11), TC-TRN-08 and TC-OPT-02 on crafted captures. TC-BAS-14: the 200 relayed with its
retransmissions and the far end's BYE passes (proxy); a 200 sent once while no ACK comes FAILs (M, the issue's "2xx
not retransmitted without ACK"); no BYE after 64*T1 FAILs (M); a schedule off T1..T2 is an R finding; and the
passive rule RFC3261-10 does not blame a DUT for the ACK it could not relay (the caller withheld it), yet still does
when the caller's ACK reached it. TC-TRN-08: a lost pipelined request, a misread split one, a call not re-sent after
the connection closed. TC-OPT-02: OPTIONS answered unlike the INVITE, while the far side is down or once it is back."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

import pytest  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks import StimulusMissing  # noqa: E402
from sipqual.rules import run_all  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-BAS-14-tcp-abc"
NUM = "+15550002000"
OUT = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=NUM)
CT = "Content-Type: application/sdp"
RFC = [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]     # T1 doubling to T2, 64*T1 = 32 s


class _Call:
    def __init__(self):
        self.c, self.now = Capture(), 0.0

    def msg(self, at: float, src: str, dst: str, start: str, leg: str, cseq: str, *extra, to_tag: str = "",
            body: str = ""):
        side = leg[0]
        self.c.udp(src, dst, sip(start, f"Via: SIP/2.0/UDP {MS if side == 'a' else DUT}:5060;branch=z9hG4bK-{side}"
                                 + ("-" + cseq.split()[1].lower() if "INVITE" not in cseq else ""),
                                 "From: <sip:+100@example.net>;tag=" + ("caller" if side == "a" else "dut"),
                                 f"To: <sip:{NUM}@example.net>{to_tag}", f"Call-ID: {leg}@example.net",
                                 f"CSeq: {cseq}", *extra, body=body), dt=max(at - self.now, 0.0001))
        self.now = max(at, self.now + 0.0001)


def _no_ack(tmp_path, dut_times=RFC, far_times=RFC, far_bye: float | None = 32.0, dut_bye: float | None = 32.01,
            caller_acks: bool = False, end: float | None = None):
    """Caller -> DUT -> far end (separate Call-IDs, as a B2BUA); the far end answers at 0; its 200 retransmitted at
    ``far_times``, the DUT's to the caller at ``dut_times``; BYEs at ``far_bye`` / ``dut_bye`` (None: none)."""
    k = _Call()
    ruri = f"INVITE sip:{NUM}@example.net SIP/2.0"
    ok = "SIP/2.0 200 OK"
    k.msg(-0.2, MS, DUT, ruri, "a", "1 INVITE", "Max-Forwards: 70", f"{checks.MARKER}: {TEST_ID}", CT,
          body=sdp(1, MS, 30000))
    k.msg(-0.19, DUT, MS, "SIP/2.0 100 Trying", "a", "1 INVITE")
    k.msg(-0.18, DUT, FAR, ruri, "b", "1 INVITE", "Max-Forwards: 69", CT, body=sdp(1, DUT, 40000))
    events = [(0.0, "far"), (0.01, "dut")] + [(t, "far") for t in far_times] + [(t + 0.01, "dut") for t in dut_times]
    if caller_acks:
        events.append((0.05, "ack"))
    if far_bye is not None:
        events.append((far_bye, "farbye"))
    if dut_bye is not None:
        events.append((dut_bye, "dutbye"))
    for at, what in sorted(events):
        if what == "far":
            k.msg(at, FAR, DUT, ok, "b", "1 INVITE", f"Contact: <sip:{FAR}>", CT, to_tag=";tag=x",
                  body=sdp(1, FAR, 50000))
        elif what == "dut":
            k.msg(at, DUT, MS, ok, "a", "1 INVITE", f"Contact: <sip:{DUT}>", CT, to_tag=";tag=x",
                  body=sdp(1, DUT, 40002))
        elif what == "ack":
            k.msg(at, MS, DUT, f"ACK sip:{DUT} SIP/2.0", "a", "1 ACK", "Max-Forwards: 70", to_tag=";tag=x")
        elif what == "farbye":
            k.msg(at, FAR, DUT, f"BYE sip:{DUT} SIP/2.0", "b", "1 BYE", "Max-Forwards: 70", to_tag=";tag=x")
        else:
            k.msg(at, DUT, MS, f"BYE sip:{MS} SIP/2.0", "a", "1 BYE", "Max-Forwards: 70", to_tag=";tag=x")
    k.msg(end if end is not None else k.now + 0.02, MS, DUT, "SIP/2.0 200 OK", "a", "1 BYE", to_tag=";tag=x")
    path = tmp_path / "c.pcapng"
    k.c.write(path)
    return read_trace(path)


def _bad(found):
    return [(f.rule, f.severity) for f in found if not f.ok]


def test_relayed_retransmissions_and_bye_pass_and_say_proxy(tmp_path):
    found = checks.two_xx_retransmitted(_no_ack(tmp_path), spec=OUT)
    assert not _bad(found), found
    msgs = " ".join(f.message for f in found)
    assert "retransmitted 10 times" in msgs and "(a proxy)" in msgs and "relayed from our far end's BYE" in msgs


def test_own_retransmissions_are_recorded_as_the_duts(tmp_path):
    found = checks.two_xx_retransmitted(_no_ack(tmp_path, far_times=[], far_bye=None), spec=OUT)
    assert not _bad(found) and "(a B2BUA)" in " ".join(f.message for f in found)


def test_2xx_not_retransmitted_without_ack_fails(tmp_path):
    """issue 11: "2xx not retransmitted without ACK" must FAIL (the DUT drops the far end's retransmissions)."""
    found = checks.two_xx_retransmitted(_no_ack(tmp_path, dut_times=[]), spec=OUT)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("RFC3261-11", "M")], found
    assert bad[0].message.startswith("RFC3261-11: expected the 200 (frame") and "sent once" in bad[0].message
    assert bad[0].frames


def test_no_bye_after_64_t1_fails(tmp_path):
    found = checks.two_xx_retransmitted(_no_ack(tmp_path, far_bye=None, dut_bye=None, end=45.0), spec=OUT)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("RFC3261-11", "M")] and "a BYE to the Mediation side within 64*T1 + T2" in \
        bad[0].message, found


def test_capture_ending_before_the_bye_is_due_is_not_a_dut_fault(tmp_path):
    with pytest.raises(StimulusMissing):
        checks.two_xx_retransmitted(_no_ack(tmp_path, far_bye=None, dut_bye=None), spec=OUT)


def test_schedule_without_the_t2_cap_is_an_r_finding(tmp_path):
    doubling = [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]       # SIPp's own INVITE-style doubling: 8 and 16 s gaps
    found = checks.two_xx_retransmitted(_no_ack(tmp_path, dut_times=doubling, far_times=doubling), spec=OUT)
    assert set(_bad(found)) == {("RFC3261-11", "R")} and len(_bad(found)) == 2, found


def test_rfc3261_10_not_blamed_on_a_dut_whose_caller_withheld_the_ack(tmp_path):
    trace = _no_ack(tmp_path, end=40.0)
    f10 = [f for f in run_all(trace, {DUT}) if f.rule == "RFC3261-10"]
    assert f10 and all(f.ok for f in f10) and any("never acknowledged there" in f.message for f in f10), f10


def test_rfc3261_10_still_blames_a_dut_that_got_the_ack_and_kept_it(tmp_path):
    trace = _no_ack(tmp_path, dut_times=[], far_times=RFC[:3], end=40.0, caller_acks=True)
    f10 = [f for f in run_all(trace, {DUT}) if f.rule == "RFC3261-10" and not f.ok]
    assert f10 and "expected an ACK for the 200" in f10[0].message, f10


# ---- TC-TRN-08 ------------------------------------------------------------------------------------------------------
FRAME_ID = "TC-TRN-08-tcp-abc-frame"


def _opt(marker: str, n: int) -> str:
    return sip(f"OPTIONS sip:{DUT}:40000;transport=tcp SIP/2.0", f"Via: SIP/2.0/TCP {MS}:5060;branch=z9hG4bK-o{n}",
               "Max-Forwards: 70", f"From: <sip:{MS}>;tag=o{n}", f"To: <sip:{DUT}>", f"Call-ID: opt{n}@example.net",
               "CSeq: 1 OPTIONS", f"{checks.MARKER}: {marker}")


def _ok(n: int, status: str = "200 OK") -> str:
    return sip(f"SIP/2.0 {status}", f"Via: SIP/2.0/TCP {MS}:5060;branch=z9hG4bK-o{n}", f"From: <sip:{MS}>;tag=o{n}",
               f"To: <sip:{DUT}>;tag=d{n}", f"Call-ID: opt{n}@example.net", "CSeq: 1 OPTIONS")


def _framing(tmp_path, answers=("200 OK", "200 OK", "200 OK")):
    """Two OPTIONS in one TCP segment and one split across two; the DUT answers each with ``answers`` (None:
    not at all)."""
    c = Capture()
    c.tcp(MS, DUT, _opt(f"{FRAME_ID}-pipe-1", 1) + _opt(f"{FRAME_ID}-pipe-2", 2))
    for n, status in ((1, answers[0]), (2, answers[1])):
        if status:
            c.tcp(DUT, MS, _ok(n, status))
    split = _opt(f"{FRAME_ID}-split", 3)
    cut = split.index("Call-ID:") + 4
    c.tcp(MS, DUT, split[:cut], split[cut:])
    if answers[2]:
        c.tcp(DUT, MS, _ok(3, answers[2]))
    path = tmp_path / "f.pcapng"
    c.write(path)
    return read_trace(path, sip_tcp_ports=[5060, 40000])


def test_pipelined_and_split_options_answered_pass(tmp_path):
    found = checks.framing_handled(_framing(tmp_path), our_ip=MS, dut_ip=DUT, test_id=FRAME_ID)
    assert [f.rule for f in found if f.ok] == ["TRN-09"] * 3 and not _bad(found), found
    assert "in one TCP segment" in found[0].message


def test_second_pipelined_options_ignored_fails(tmp_path):
    """A DUT that reads one message per segment loses the second of two pipelined requests (TRN-09, M)."""
    found = checks.framing_handled(_framing(tmp_path, ("200 OK", None, "200 OK")), our_ip=MS, dut_ip=DUT,
                                   test_id=FRAME_ID)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("TRN-09", "M")] and "the second of two OPTIONS in one TCP segment" in bad[0].message \
        and "observed no final response" in bad[0].message, found


def test_split_options_misread_fails(tmp_path):
    found = checks.framing_handled(_framing(tmp_path, ("200 OK", "200 OK", "400 Bad Request")), our_ip=MS,
                                   dut_ip=DUT, test_id=FRAME_ID)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("TRN-09", "M")] and "split across two TCP segments" in bad[0].message \
        and "400 Bad Request" in bad[0].message, found


def test_next_call_not_sent_after_the_connection_closed_fails(tmp_path):
    """The DUT does not re-establish the connection the Mediation side closed: the second IN call gets 503."""
    k = _Call()
    first = checks.CallSpec("T8-1", caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=NUM)
    second = checks.CallSpec("T8-2", caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=NUM)
    ruri = f"INVITE sip:{NUM}@example.net SIP/2.0"
    k.msg(0.0, FAR, DUT, ruri, "a1", "1 INVITE", f"{checks.MARKER}: T8-1", CT, body=sdp(1, FAR, 30000))
    k.msg(0.01, DUT, MS, ruri, "b1", "1 INVITE", CT, body=sdp(1, DUT, 40000))
    k.msg(5.0, FAR, DUT, ruri, "a2", "1 INVITE", f"{checks.MARKER}: T8-2", CT, body=sdp(1, FAR, 30002))
    k.msg(5.01, DUT, FAR, "SIP/2.0 503 Service Unavailable", "a2", "1 INVITE", to_tag=";tag=z")
    path = tmp_path / "r.pcapng"
    k.c.write(path)
    found = checks.reconnected(read_trace(path), first=first, second=second)
    assert _bad(found) == [("TLS-05", "M")] and "503 Service Unavailable" in found[0].message, found


# ---- TC-OPT-02 ------------------------------------------------------------------------------------------------------
OPT_IDS = {"invite_down": "T2-down", "options_down": "T2-down-options", "invite_up": "T2-up",
           "options_up": "T2-up-options"}


def _far_down(tmp_path, down=("503 Service Unavailable", "503 Service Unavailable"), up=("200 OK", "200 OK")):
    """Our INVITE and OPTIONS while the far side is down, answered ``down`` (INVITE, OPTIONS; None: not at all),
    then the same once it is back, answered ``up``."""
    k = _Call()
    at = 0.0
    for n, (phase, answers) in enumerate((("down", down), ("up", up))):
        inv, opt = f"a{phase}", f"o{phase}"
        k.msg(at, MS, DUT, f"INVITE sip:{NUM}@example.net SIP/2.0", inv, "1 INVITE",
              f"{checks.MARKER}: {OPT_IDS['invite_' + phase]}", CT, body=sdp(1, MS, 30000 + 2 * n))
        if answers[0]:
            k.msg(at + 2.0, DUT, MS, f"SIP/2.0 {answers[0]}", inv, "1 INVITE", to_tag=";tag=d")
        k.msg(at + 2.1, MS, DUT, f"OPTIONS sip:{DUT} SIP/2.0", opt, "1 OPTIONS",
              f"{checks.MARKER}: {OPT_IDS['options_' + phase]}")
        if answers[1]:
            k.msg(at + 2.11, DUT, MS, f"SIP/2.0 {answers[1]}", opt, "1 OPTIONS", to_tag=";tag=o")
        at += 5.0
    path = tmp_path / "o.pcapng"
    k.c.write(path)
    return read_trace(path)


def test_options_with_the_invites_status_passes(tmp_path):
    found = checks.options_like_invite(_far_down(tmp_path), our_ip=MS, dut_ip=DUT, ids=OPT_IDS)
    assert not _bad(found) and len(found) == 3, found


def test_options_200_while_invites_get_503_fails(tmp_path):
    found = checks.options_like_invite(_far_down(tmp_path, down=("503 Service Unavailable", "200 OK")), our_ip=MS,
                                       dut_ip=DUT, ids=OPT_IDS)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("OPT-02", "R")] and bad[0].message.startswith("OPT-02: expected 503 to OPTIONS") \
        and "observed 200 OK" in bad[0].message and bad[0].frames, found


def test_options_refused_once_the_far_side_is_back_fails(tmp_path):
    """An OPTIONS answer that is a constant 503 does not track the far side: calls work again, OPTIONS still 503."""
    found = checks.options_like_invite(_far_down(tmp_path, up=("200 OK", "503 Service Unavailable")), our_ip=MS,
                                       dut_ip=DUT, ids=OPT_IDS)
    bad = [f for f in found if not f.ok]
    assert _bad(found) == [("OPT-02", "R")] and "once the far side is back" in bad[0].message, found


def test_options_unanswered_while_far_side_down_fails(tmp_path):
    found = checks.options_like_invite(_far_down(tmp_path, down=("503 Service Unavailable", None)), our_ip=MS,
                                       dut_ip=DUT, ids=OPT_IDS)
    assert _bad(found) == [("OPT-02", "R")] and "observed no response" in [f for f in found if not f.ok][0].message
