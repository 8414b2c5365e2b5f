"""TC-ST-01/02/04 and TC-REL-01 on crafted captures. The session-timer cases last half an interval to a whole one
(90 s at least), so their faults are proven here rather than by a lab variant each: a refresh never sent (the DUT's
BYE or nothing instead), a refresh too late, a 2xx that drops the timer or names the wrong refresher, a BYE after
expiry, before the refresh was due, or never, a far leg left up. The lab proves "Require: 100rel toward the Mediation
side" end to end (faulty-require-100rel, tests/test_lab.py); here a reliable 18x to an INVITE without 100rel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.common import StimulusMissing  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-ST-XX-tcp-abc"
OUT_NUM, IN_NUM = "+15550002000", "+14255550123"
OUT = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=OUT_NUM)
IN = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=IN_NUM)
CT = "Content-Type: application/sdp"


class Call:
    """A call through the DUT as a B2BUA (each leg its own Call-ID and tags): leg "a" caller <-> DUT, leg "b" DUT
    <-> callee. ``at(t)`` moves the clock to t seconds after the caller's ACK, so timer tests read like the RFC."""

    def __init__(self, spec: checks.CallSpec, c: Capture | None = None, tag: str = ""):
        self.c, self.spec, self.n = c or Capture(), spec, 0
        num = spec.called
        self.legs = {
            "a": (spec.caller_ip, DUT, f"Call-ID: a{tag}@x", f"From: <sip:+100@x>;tag=ca{tag}", f"To: <sip:{num}@y>",
                  ";tag=da" + tag),
            "b": (DUT, spec.callee_ip, f"Call-ID: b{tag}@x", f"From: <sip:+100@y>;tag=db{tag}", f"To: <sip:{num}@z>",
                  ";tag=cb" + tag),
        }
        self.t_ack = None

    def at(self, t: float) -> Call:
        self.c.t = self.t_ack + t - 0.02     # the next message is sent at t (Capture adds its dt of 0.02)
        return self

    def req(self, leg: str, method: str, cseq: int, *extra, back: bool = False, body: str = "", marker=False):
        """A request on ``leg`` from its first party (``back``: from the second, i.e. in the other direction)."""
        uac, uas, cid, frm, to, tt = self.legs[leg]
        src, dst = (uas, uac) if back else (uac, uas)
        to_tag = tt if method != "INVITE" or back else ""         # an INVITE from the first party is initial
        f, t = (to.replace("To:", "From:") + tt, frm.replace("From:", "To:")) if back else (frm, to + to_tag)
        self.n += 1
        hdrs = [f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{self.n}", "Max-Forwards: 70", f, t, cid,
                f"CSeq: {cseq} {method}", f"Contact: <sip:x@{src}:5060>", *extra]
        if marker:
            hdrs.append(f"{checks.MARKER}: {TEST_ID}")
        self.c.udp(src, dst, sip(f"{method} sip:{self.spec.called}@{dst} SIP/2.0", *hdrs, body=body))
        self._last = (src, dst, hdrs[0], f, t, cid, f"CSeq: {cseq} {method}")
        return self

    def resp(self, status: str, *extra, body: str = ""):
        """A response to the last request."""
        src, dst, via, f, t, cid, cseq = self._last
        if ";tag=" not in t:
            t += self.legs["a" if dst == DUT and src == self.spec.caller_ip else "b"][5]
        self.c.udp(dst, src, sip(f"SIP/2.0 {status}", via, f, t, cid, cseq, f"Contact: <sip:x@{dst}:5060>", *extra,
                                 body=body))
        return self

    def setup(self, invite_a=(), ok_a=(), invite_b=(), ok_b=(), provisional_a=("180 Ringing",)) -> Call:
        """INVITE, 100, 18x and 200 on both legs, both ACKed; each list adds headers to that message."""
        s = self.spec
        self.req("a", "INVITE", 1, CT, *invite_a, marker=True, body=sdp(1, s.caller_ip, 30000)).resp("100 Trying")
        inv_a = self._last
        self.req("b", "INVITE", 1, CT, *invite_b, body=sdp(1, DUT, 40000)).resp("200 OK", CT, *ok_b,
                                                                               body=sdp(1, s.callee_ip, 50000))
        self.req("b", "ACK", 1)
        self._last = inv_a
        for p in provisional_a:
            head, *extra = (p,) if isinstance(p, str) else p
            self.resp(head, *extra)
        self.resp("200 OK", CT, *ok_a, body=sdp(1, DUT, 40002))
        self.req("a", "ACK", 1)
        self.t_ack = self.c.t
        return self

    def trace(self, tmp_path):
        path = tmp_path / "c.pcapng"
        self.c.write(path)
        return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


# ---- TC-ST-02: the DUT refreshes (refresher=uas) ---------------------------------------------------------------

def _st02(tmp_path, ok_se="90;refresher=uas", refresh_at: float | None = 45.0, refresh_se=True, bye_at=None,
          end_at=None):
    se = ("Supported: timer", "Session-Expires: 90;refresher=uas", "Min-SE: 90")
    ok = ("Require: timer", f"Session-Expires: {ok_se}") if ok_se else ()
    call = Call(OUT).setup(invite_a=se, ok_a=ok, invite_b=se, ok_b=ok)
    if refresh_at is not None:
        call.at(refresh_at - 0.1).req("b", "UPDATE", 1, "Session-Expires: 90;refresher=uas", back=True).resp("200 OK")
        call.at(refresh_at).req("a", "UPDATE", 1, *(["Session-Expires: 90;refresher=uas"] if refresh_se else []),
                                back=True).resp("200 OK")
        call.at(refresh_at + 1).req("a", "BYE", 2).resp("200 OK").req("b", "BYE", 2).resp("200 OK")
    if bye_at is not None:      # the DUT's BYE instead of a refresh (its dialog timed out)
        call.at(bye_at).req("a", "BYE", 1, back=True).resp("200 OK").req("b", "BYE", 2).resp("200 OK")
    if end_at is not None:      # something late in the capture: it ran on (our caller waited)
        call.at(end_at).req("a", "OPTIONS", 9, back=True)
    return call.trace(tmp_path)


def test_st02_refresh_by_the_dut_at_half_the_interval_passes(tmp_path):
    found = checks.session_refreshed_by_dut(_st02(tmp_path), spec=OUT)
    assert not _bad(found), found
    refresh = [f for f in found if f.rule == "RFC4028-04"]
    assert refresh and "UPDATE refresh at +45.0 s" in refresh[0].message and "relayed from the far side" in \
        refresh[0].message
    assert any(f.rule == "RFC3261-14" and f.ok for f in found)


def test_st02_refresh_never_sent_the_dut_hangs_up_instead_fails(tmp_path):
    """The issue's "session refresh never sent": the DUT names itself refresher and ends the call at its own
    timeout instead of refreshing."""
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, refresh_at=None, bye_at=60.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "observed first BYE at +60.0 s" in bad[0].message \
        and bad[0].frames


def test_st02_refresh_never_sent_nothing_at_all_fails(tmp_path):
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, refresh_at=None, end_at=110.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "observed none; the capture runs on to +110 s" in \
        bad[0].message


def test_st02_a_capture_that_ends_before_the_refresh_was_due_is_not_judged(tmp_path):
    with pytest.raises(StimulusMissing):
        checks.session_refreshed_by_dut(_st02(tmp_path, refresh_at=None, end_at=20.0), spec=OUT)


def test_st02_refresh_too_late_fails(tmp_path):
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, refresh_at=70.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "observed first UPDATE at +70.0 s" in bad[0].message


def test_st02_refresh_without_session_expires_is_a_recommended_finding(tmp_path):
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, refresh_se=False), spec=OUT))
    assert [(f.rule, f.severity) for f in bad] == [("RFC4028-05", "R")]


def test_st02_2xx_dropping_the_timer_fails(tmp_path):
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, ok_se=None, refresh_at=None), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-03"] and "no Session-Expires" in bad[0].message


def test_st02_2xx_naming_the_other_refresher_fails(tmp_path):
    bad = _bad(checks.session_refreshed_by_dut(_st02(tmp_path, ok_se="90;refresher=uac", refresh_at=None),
                                               spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-03"] and "refresher=uas as the request asked" in bad[0].message


# ---- TC-ST-04: refresh withheld, the DUT must end the call -------------------------------------------------------

def _st04(tmp_path, bye_at: float | None = 60.0, far_bye=True, end_at=None, ok_se="90;refresher=uac",
          we_refresh=False):
    se = ("Supported: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90")
    ok = ("Require: timer", f"Session-Expires: {ok_se}")
    call = Call(OUT).setup(invite_a=se, ok_a=ok, invite_b=se, ok_b=ok)
    if we_refresh:
        call.at(45).req("a", "UPDATE", 2, "Session-Expires: 90;refresher=uac").resp("200 OK")
    if bye_at is not None:
        call.at(bye_at).req("a", "BYE", 1, back=True).resp("200 OK")
        if far_bye:
            call.req("b", "BYE", 2).resp("200 OK")
    if end_at is not None:
        call.at(end_at).req("a", "OPTIONS", 9, back=True)
    return call.trace(tmp_path)


def test_st04_bye_before_expiry_passes(tmp_path):
    found = checks.session_expiry_bye(_st04(tmp_path), spec=OUT)
    assert not _bad(found), found
    bye = [f for f in found if f.rule == "RFC4028-04"][0]
    assert "BYE at +60.0 s, 30.0 s before the session expired (recommended: 30 s before)" in bye.message
    assert any(f.rule == "CALL-RELEASE" and f.ok for f in found)


def test_st04_no_bye_when_the_refresh_never_comes_fails(tmp_path):
    bad = _bad(checks.session_expiry_bye(_st04(tmp_path, bye_at=None, end_at=120.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "observed none; the capture runs on to +120 s" in \
        bad[0].message


def test_st04_bye_after_expiry_fails(tmp_path):
    bad = _bad(checks.session_expiry_bye(_st04(tmp_path, bye_at=100.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "BYE at +100.0 s, after the session expired" in bad[0].message


def test_st04_bye_before_the_refresh_was_due_fails(tmp_path):
    bad = _bad(checks.session_expiry_bye(_st04(tmp_path, bye_at=20.0), spec=OUT))
    assert [f.rule for f in bad] == ["CALL-UP"] and "before our refresh was even due" in bad[0].message


def test_st04_far_leg_left_up_is_a_recommended_finding(tmp_path):
    bad = _bad(checks.session_expiry_bye(_st04(tmp_path, far_bye=False), spec=OUT))
    assert [(f.rule, f.severity) for f in bad] == [("CALL-RELEASE", "R")]


def test_st04_our_own_refresh_is_no_stimulus(tmp_path):
    with pytest.raises(StimulusMissing):
        checks.session_expiry_bye(_st04(tmp_path, we_refresh=True), spec=OUT)


def test_st04_2xx_naming_the_dut_refresher_fails(tmp_path):
    bad = _bad(checks.session_expiry_bye(_st04(tmp_path, ok_se="90;refresher=uas"), spec=OUT))
    assert [f.rule for f in bad] == ["RFC4028-03"]


# ---- TC-ST-01: IN call, the Mediation side honours the DUT's timer ------------------------------------------------

def _st01(tmp_path, asked: str | None = "90;refresher=uac", refresh_at: float | None = 45.0, bye_at=None):
    far_se = ("Supported: timer", "Session-Expires: 90;refresher=uac")
    dut_se = ("Supported: timer", f"Session-Expires: {asked}") if asked else ()
    ours = ("Require: timer", f"Session-Expires: {asked}") if asked else ()
    call = Call(IN).setup(invite_a=far_se, ok_a=("Require: timer", "Session-Expires: 90;refresher=uac"),
                          invite_b=dut_se, ok_b=ours)
    if refresh_at is not None:
        call.at(refresh_at - 0.1).req("a", "UPDATE", 2, "Session-Expires: 90;refresher=uac").resp("200 OK")
        call.at(refresh_at).req("b", "UPDATE", 2, *dut_se).resp("200 OK")
        call.at(refresh_at + 1).req("b", "BYE", 1, back=True).resp("200 OK").req("a", "BYE", 1, back=True)
        call.resp("200 OK")
    if bye_at is not None:
        call.at(bye_at).req("b", "BYE", 3).resp("200 OK").req("a", "BYE", 1, back=True).resp("200 OK")
    return call.trace(tmp_path)


def test_st01_timer_honoured_and_refreshed_passes(tmp_path):
    found = checks.session_timer_honoured(_st01(tmp_path), spec=IN)
    assert not _bad(found), found
    assert any(f.rule == "RFC4028-04" and f.ok and "UPDATE refresh at +45.1 s" in f.message for f in found), found
    assert any(f.rule == "RFC3261-14" and f.ok for f in found)


def test_st01_no_refresh_the_dut_hangs_up_fails(tmp_path):
    bad = _bad(checks.session_timer_honoured(_st01(tmp_path, refresh_at=None, bye_at=60.0), spec=IN))
    assert [f.rule for f in bad] == ["RFC4028-04"] and "observed first BYE at +60.1 s" in bad[0].message


def test_st01_no_timer_asked_is_recorded_and_the_call_judged(tmp_path):
    found = checks.session_timer_honoured(_st01(tmp_path, asked=None), spec=IN)
    assert not _bad(found) and any(f.rule == "CFG-05" and "asked no session timer" in f.message for f in found)


def test_st01_dut_naming_us_refresher_is_beyond_our_callee(tmp_path):
    with pytest.raises(StimulusMissing):
        checks.session_timer_honoured(_st01(tmp_path, asked="90;refresher=uas", refresh_at=None, bye_at=60.0),
                                      spec=IN)


# ---- TC-REL-01 ---------------------------------------------------------------------------------------------------

def _rel01(tmp_path, in_require=False, out_reliable=False):
    c = Capture()
    Call(IN, c, "i").setup(invite_a=("Supported: 100rel, replaces",),
                           invite_b=("Supported: 100rel, replaces",) + (("Require: 100rel",) if in_require else ()))
    prov = (("183 Session Progress", "Require: 100rel", "RSeq: 1"),) if out_reliable else ("180 Ringing",)
    Call(OUT, c, "o").setup(invite_a=("Supported: replaces",), provisional_a=prov)
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def test_rel01_no_100rel_toward_mediation_passes(tmp_path):
    found = checks.no_100rel_toward_mediation(_rel01(tmp_path), in_spec=IN, out_spec=OUT)
    assert not _bad(found) and [f.rule for f in found].count("SIG-05") == 2, found


def test_rel01_require_100rel_in_the_dut_invite_fails(tmp_path):
    bad = _bad(checks.no_100rel_toward_mediation(_rel01(tmp_path, in_require=True), in_spec=IN, out_spec=OUT))
    assert [f.rule for f in bad] == ["SIG-05"] and "observed Require: 100rel" in bad[0].message


def test_rel01_reliable_18x_to_an_invite_without_100rel_fails(tmp_path):
    bad = _bad(checks.no_100rel_toward_mediation(_rel01(tmp_path, out_reliable=True), in_spec=IN, out_spec=OUT))
    assert [f.rule for f in bad] == ["SIG-05"] and "RFC3262-01" in bad[0].requirements \
        and "183 Session Progress with Require: 100rel; RSeq: 1" in bad[0].message and bad[0].frames


# ---- the passive RFC4028-04 on TC-ST-04's far leg ------------------------------------------------------------------

def _rfc4028_04(trace):
    from sipqual.rules import run_all

    return [f for f in run_all(trace, {DUT}) if f.rule == "RFC4028-04"]


def test_dut_ending_the_far_leg_because_the_mediation_side_never_refreshed_is_not_a_refresh_fault(tmp_path):
    """TC-ST-04 withholds our refresh: the DUT is the far leg's refresher (refresher=uac there) only because it relays
    ours, so its BYE on the far leg when our session expired is no finding against it."""
    found = _rfc4028_04(_st04(tmp_path))
    assert found and all(f.ok for f in found), found
    assert any("ended the call" in f.message for f in found)


def test_dut_hanging_up_a_leg_it_should_have_refreshed_is_still_a_refresh_fault(tmp_path):
    se = ("Supported: timer", "Session-Expires: 90;refresher=uac", "Min-SE: 90")
    ok = ("Require: timer", "Session-Expires: 90;refresher=uac")
    call = Call(OUT).setup(invite_a=se, ok_a=("Require: timer", "Session-Expires: 90;refresher=uas"), invite_b=se,
                           ok_b=ok)
    call.at(60).req("b", "BYE", 2).resp("200 OK")   # no expiry on the Mediation leg: the DUT is its refresher
    bad = [f for f in _rfc4028_04(call.trace(tmp_path)) if not f.ok]
    assert any("refresher=uac" in f.message and "first BYE at +60 s" in f.message for f in bad), bad


# ---- TC-REL-02: the reliable 18x while our PRACK is withheld -------------------------------------------------------

REL = ("Require: 100rel", "RSeq: 1")


def _rel02(tmp_path, gaps=(0.5, 1.0), prack_at=1.6, prack_ok="200 OK", resent_after=False, reliable=True):
    """OUT call: our INVITE supports 100rel; the DUT's 180 (reliable unless ``reliable`` is False) at t=0, then its
    retransmissions ``gaps`` apart; our PRACK at ``prack_at`` answered ``prack_ok`` (None: not at all); the 180 once
    more after that (``resent_after``); then 200, ACK and our BYE relayed."""
    call = Call(OUT)
    call.req("a", "INVITE", 1, CT, "Supported: 100rel, replaces", marker=True, body=sdp(1, MS, 30000))
    call.resp("100 Trying")
    inv_a = call._last
    call.req("b", "INVITE", 1, CT, "Supported: 100rel, replaces", body=sdp(1, DUT, 40000))
    inv_b = call._last
    call.resp("180 Ringing", *REL)
    call._last = inv_a
    hdrs = REL if reliable else ()
    call.resp("180 Ringing", *hdrs)
    t0 = call.c.t
    for g in gaps:
        call.c.t += g - 0.02
        call.resp("180 Ringing", *hdrs)
    call.c.t = t0 + prack_at - 0.02
    call.req("a", "PRACK", 2, "RAck: 1 1 INVITE")
    if prack_ok:
        call.resp(prack_ok)
    if resent_after:
        call.c.t += 1.0
        call._last = inv_a
        call.resp("180 Ringing", *hdrs)
    call._last = inv_b
    call.resp("200 OK", CT, body=sdp(1, FAR, 50000))
    call.req("b", "ACK", 1)
    call._last = inv_a
    call.resp("200 OK", CT, body=sdp(1, DUT, 40002))
    call.req("a", "ACK", 1)
    call.req("a", "BYE", 3).resp("200 OK").req("b", "BYE", 2).resp("200 OK")
    return call.trace(tmp_path)


def test_rel02_reliable_18x_retransmitted_at_t1_doubling_passes(tmp_path):
    found = checks.reliable_provisional(_rel02(tmp_path), spec=OUT)
    assert not _bad(found), found
    assert any("3 transmission(s), intervals 0.50, 1.00 s" in f.message for f in found)


def test_rel02_reliable_18x_never_retransmitted_fails(tmp_path):
    bad = _bad(checks.reliable_provisional(_rel02(tmp_path, gaps=(), prack_at=3.0), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3262-02"] and "observed 1 transmission(s), intervals none s" in \
        bad[0].message


def test_rel02_retransmissions_not_doubling_fail(tmp_path):
    bad = _bad(checks.reliable_provisional(_rel02(tmp_path, gaps=(0.5, 0.5, 0.5)), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3262-02"] and "intervals 0.50, 0.50, 0.50 s" in bad[0].message


def test_rel02_retransmission_after_the_prack_was_answered_fails(tmp_path):
    bad = _bad(checks.reliable_provisional(_rel02(tmp_path, resent_after=True), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3262-02"] and "once our PRACK was answered" in bad[0].message


def test_rel02_prack_not_answered_fails(tmp_path):
    bad = _bad(checks.reliable_provisional(_rel02(tmp_path, prack_ok="481 Call/Transaction Does Not Exist"),
                                           spec=OUT))
    assert [f.rule for f in bad] == ["RFC3262-03"] and "observed 481" in bad[0].message


def test_rel02_no_reliable_18x_to_an_invite_supporting_100rel_fails(tmp_path):
    bad = _bad(checks.reliable_provisional(_rel02(tmp_path, reliable=False), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3262-02"] and "though the far end rang reliably" in bad[0].message



# ---- TC-ST-03: 422 with Min-SE --------------------------------------------------------------------------------------

def _st03(tmp_path, mode="relay", relay_min_se=1800, retry_se=1800, retry_min_se=1800, ack=True):
    """IN call: the DUT's INVITE (Session-Expires 90) gets our 422 with Min-SE 1800. ``mode``: "relay" (the DUT
    relays the 422 with ``relay_min_se``, our far caller retries with 1800, the DUT carries that on with
    ``retry_se``), "self" (the DUT retries itself with ``retry_se``/``retry_min_se``), "503" (it gives the caller 503
    instead). The retry is answered, and our callee hangs up."""
    timer = ("Supported: timer", "Session-Expires: 90", "Min-SE: 90")
    call = Call(IN)
    call.req("a", "INVITE", 1, CT, *timer, marker=True, body=sdp(1, FAR, 30000)).resp("100 Trying")
    inv_a = call._last
    call.req("b", "INVITE", 1, CT, *timer, body=sdp(1, DUT, 40000))
    call.resp("422 Session Interval Too Small", "Min-SE: 1800")
    if ack:
        call.req("b", "ACK", 1)
    if mode == "503":
        call._last = inv_a
        call.resp("503 Service Unavailable")
        call.req("a", "ACK", 1)
        return call.trace(tmp_path)
    if mode == "relay":
        call._last = inv_a
        call.resp("422 Session Interval Too Small", f"Min-SE: {relay_min_se}")
        call.req("a", "ACK", 1)
        call.req("a", "INVITE", 2, CT, "Supported: timer", "Session-Expires: 1800", "Min-SE: 1800", marker=True,
                 body=sdp(1, FAR, 30000))
        inv_a = call._last
    call.req("b", "INVITE", 2, CT, "Supported: timer", f"Session-Expires: {retry_se}", f"Min-SE: {retry_min_se}",
             body=sdp(1, DUT, 40000))
    call.resp("200 OK", CT, "Session-Expires: 1800;refresher=uac", body=sdp(1, MS, 50000))
    call.req("b", "ACK", 2)
    call._last = inv_a
    call.resp("200 OK", CT, body=sdp(1, DUT, 40002))
    call.req("a", "ACK", 2 if mode == "relay" else 1)
    call.req("b", "BYE", 1, back=True).resp("200 OK").req("a", "BYE", 1, back=True).resp("200 OK")
    return call.trace(tmp_path)


def test_st03_422_relayed_and_the_retry_carried_on_passes(tmp_path):
    found = checks.session_too_small_retried(_st03(tmp_path), spec=IN, min_se=1800)
    assert not _bad(found), found
    msgs = " ".join(f.message for f in found if f.rule == "RFC4028-02")
    assert "the DUT relayed it with Min-SE: 1800" in msgs and "our far agent's retry, relayed" in msgs
    assert [f.severity for f in found if "our far agent's retry" in f.message] == ["I"]   # never credited


def test_st03_dut_retrying_itself_passes_and_says_so(tmp_path):
    found = checks.session_too_small_retried(_st03(tmp_path, mode="self"), spec=IN, min_se=1800)
    assert not _bad(found), found
    assert any(f.rule == "RFC4028-02" and f.severity == "M" and "the DUT retried itself" in f.message for f in found)


def test_st03_422_relayed_with_a_lower_min_se_fails(tmp_path):
    bad = _bad(checks.session_too_small_retried(_st03(tmp_path, relay_min_se=90), spec=IN, min_se=1800))
    assert [f.rule for f in bad] == ["RFC4028-02"] and "observed Min-SE: 90" in bad[0].message


def test_st03_dut_lowering_the_callers_retry_fails(tmp_path):
    bad = _bad(checks.session_too_small_retried(_st03(tmp_path, retry_se=90), spec=IN, min_se=1800))
    assert [f.rule for f in bad] == ["RFC4028-02"] and "observed Session-Expires: 90" in bad[0].message


def test_st03_dut_retrying_below_min_se_fails(tmp_path):
    bad = _bad(checks.session_too_small_retried(_st03(tmp_path, mode="self", retry_se=90, retry_min_se=90), spec=IN,
                                                min_se=1800))
    assert [f.rule for f in bad] == ["RFC4028-02"] and "Session-Expires: 90, Min-SE: 90" in bad[0].message


def test_st03_422_turned_into_503_fails(tmp_path):
    bad = _bad(checks.session_too_small_retried(_st03(tmp_path, mode="503"), spec=IN, min_se=1800))
    assert [f.rule for f in bad] == ["RFC4028-02"] and "observed 503 Service Unavailable" in bad[0].message


def test_st03_422_never_acked_fails(tmp_path):
    bad = _bad(checks.session_too_small_retried(_st03(tmp_path, ack=False), spec=IN, min_se=1800))
    assert [f.rule for f in bad] == ["ACK-FINAL"]


# ---- TC-REL-03: UPDATE in a confirmed dialog, 491 on glare --------------------------------------------------------

def _rel03(tmp_path, plain="200 OK", offer_answer=True, relay_far=True, crossing="491 Request Pending"):
    """OUT call up; our UPDATE without SDP answered ``plain``; our UPDATE with an offer answered 200 (with SDP
    unless ``offer_answer`` is False); the far end's UPDATE with an offer passed on to us (``relay_far``); our
    crossing UPDATE with an offer answered ``crossing`` (the far end's 491 relayed); our 200 to the far end's offer;
    our BYE relayed."""
    call = Call(OUT).setup()
    call.req("a", "UPDATE", 2).resp(plain)
    call.req("a", "UPDATE", 3, CT, body=sdp(2, MS, 30000)).resp("200 OK", *((CT,) if offer_answer else ()),
                                                                body=sdp(2, DUT, 40002) if offer_answer else "")
    call.req("b", "UPDATE", 1, CT, back=True, body=sdp(3, FAR, 50000))
    if relay_far:
        call.req("a", "UPDATE", 1, CT, back=True, body=sdp(3, DUT, 40002))
        far_offer = call._last
        call.req("a", "UPDATE", 4, CT, body=sdp(3, MS, 30000))
        mine = call._last
        call.req("b", "UPDATE", 4, CT, body=sdp(3, DUT, 40000)).resp("491 Request Pending")
        call._last = mine
        call.resp(crossing)
        call._last = far_offer
        call.resp("200 OK", CT, body=sdp(4, MS, 30000))
    call.req("a", "BYE", 5).resp("200 OK").req("b", "BYE", 5).resp("200 OK")
    return call.trace(tmp_path)


def test_rel03_updates_answered_and_glare_refused_passes(tmp_path):
    found = checks.update_in_dialog(_rel03(tmp_path), spec=OUT)
    assert not _bad(found), found
    assert [f.rule for f in found].count("RFC3311-01") == 3
    assert any("relayed from the far end's 491" in f.message for f in found)


def test_rel03_update_without_sdp_refused_fails(tmp_path):
    bad = _bad(checks.update_in_dialog(_rel03(tmp_path, plain="501 Not Implemented"), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3311-01"] and "observed 501 Not Implemented" in bad[0].message


def test_rel03_update_offer_answered_without_sdp_fails(tmp_path):
    bad = _bad(checks.update_in_dialog(_rel03(tmp_path, offer_answer=False), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3311-01"] and "200 OK without SDP" in bad[0].message


def test_rel03_crossing_offer_accepted_instead_of_491_fails(tmp_path):
    bad = _bad(checks.update_in_dialog(_rel03(tmp_path, crossing="200 OK"), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3311-01"] and "expected 491" in bad[0].message \
        and "observed 200 OK" in bad[0].message


def test_rel03_far_end_update_not_passed_on_fails(tmp_path):
    bad = _bad(checks.update_in_dialog(_rel03(tmp_path, relay_far=False), spec=OUT))
    assert [f.rule for f in bad] == ["RFC3311-01"] and "no UPDATE from the DUT" in bad[0].message


def test_a_relayed_crossing_update_is_glare_between_the_peers_not_the_duts_offer(tmp_path):
    """The passive RFC3311-02 on a proxy (same Call-ID and CSeq on both legs, its Via on top): relaying our crossing
    UPDATE while the far end's offer is outstanding on that leg is the peers' glare, not the DUT's."""
    from sipqual.rules import run_all

    c = Capture()
    via_ms = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms4"
    via_dut = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p4"
    far_via = "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-far1"
    ids = ("From: <sip:+1@x>;tag=ms", "To: <sip:+2@y>;tag=far", "Call-ID: proxy-1@x")
    c.udp(MS, DUT, sip("INVITE sip:+2@192.0.2.1 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms1",
                       "Max-Forwards: 70", ids[0], "To: <sip:+2@y>", ids[2], "CSeq: 1 INVITE",
                       "Contact: <sip:ms@192.0.2.10>", CT, body=sdp(1, MS, 30000)))
    c.udp(DUT, FAR, sip("INVITE sip:+2@198.51.100.10 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p1",
                        "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms1", "Max-Forwards: 69", ids[0],
                        "To: <sip:+2@y>", ids[2], "CSeq: 1 INVITE", "Contact: <sip:ms@192.0.2.10>", CT,
                        body=sdp(1, MS, 30000)))
    for src, dst, vias in ((FAR, DUT, ("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p1",
                                       "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms1")),
                           (DUT, MS, ("Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-ms1",))):
        c.udp(src, dst, sip("SIP/2.0 200 OK", *vias, *ids, "CSeq: 1 INVITE", "Contact: <sip:far@198.51.100.10>", CT,
                            body=sdp(1, FAR, 50000)))
    rev = ("From: <sip:+2@y>;tag=far", "To: <sip:+1@x>;tag=ms", ids[2])
    c.udp(FAR, DUT, sip("UPDATE sip:ms@192.0.2.1 SIP/2.0", far_via, "Max-Forwards: 70", *rev, "CSeq: 1 UPDATE",
                        "Contact: <sip:far@198.51.100.10>", CT, body=sdp(2, FAR, 50000)))
    c.udp(MS, DUT, sip("UPDATE sip:far@192.0.2.1 SIP/2.0", via_ms, "Max-Forwards: 70", *ids, "CSeq: 4 UPDATE",
                       "Contact: <sip:ms@192.0.2.10>", CT, body=sdp(2, MS, 30000)))
    c.udp(DUT, FAR, sip("UPDATE sip:far@198.51.100.10 SIP/2.0", via_dut, via_ms, "Max-Forwards: 69", *ids,
                        "CSeq: 4 UPDATE", "Contact: <sip:ms@192.0.2.10>", CT, body=sdp(2, MS, 30000)))
    path = tmp_path / "c.pcapng"
    c.write(path)
    found = [f for f in run_all(read_trace(path), {DUT}) if f.rule == "RFC3311-02"]
    assert found and all(f.ok for f in found) and any("the peers'" in f.message for f in found), found
