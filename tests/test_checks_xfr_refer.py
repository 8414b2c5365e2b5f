"""TC-XFR-01/03/06 on crafted captures: a REFER the DUT passes on (a proxy: the far end's 202 and NOTIFYs relayed and
labelled so) or carries out itself (a gateway: its own 202, NOTIFYs and INVITE to the target) passes, and each fault
FAILs with the right rule and frame. The lab proves "REFER answered 202 and dropped" and "Referred-By removed" with
faulty variants (tests/test_lab.py); these prove the rest: the REFER refused, the far end's NOTIFY not passed on, a
final NOTIFY with another outcome or none terminating, the Refer-To rewritten, a gateway's INVITE to the target
without Referred-By, the original call dropped after a busy target, and our own missing REFER as ERROR. The two legs
have their own Call-ID, tags and CSeq (a B2BUA)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, sdp  # noqa: E402
from test_checks_hld import CT, PORT, TEST_ID, HoldCall, _spec  # noqa: E402

from sipqual import checks  # noqa: E402

TARGET = "+15550003000"
FRAG = "Content-Type: message/sipfrag;version=2.0"


class ReferCall(HoldCall):
    """An OUT call through the DUT that our Mediation-side caller transfers by REFER."""

    def __init__(self, inbound: bool = False):
        super().__init__(FAR, MS) if inbound else super().__init__(MS, FAR)
        self.nseq = 10
        self.inbound = inbound      # an IN call: Lync (our callee) transfers the far caller (TC-XFR-08)

    def hangup(self):
        """The transferor hangs up: on an IN call our callee (Lync), its BYE relayed to the far caller."""
        if not self.inbound:
            return super().hangup()
        via = self._req(MS, DUT, "BYE", self.b, 7, to_tag=";tag=cb")
        via_a = self._req(DUT, FAR, "BYE", self.a, 8, to_tag=";tag=da")
        self._resp(FAR, DUT, "200 OK", self.a, via_a, "8 BYE", tag=";tag=da")
        self._resp(DUT, MS, "200 OK", self.b, via, "7 BYE", tag=";tag=cb")
        return self

    def _notify(self, src, dst, leg, code_reason: str, state: str):
        self.nseq += 1
        via = self._req(src, dst, "NOTIFY", leg, self.nseq, "Event: refer", f"Subscription-State: {state}", FRAG,
                        to_tag=";tag=x", body=f"SIP/2.0 {code_reason}\r\n")
        self._resp(dst, src, "200 OK", leg, via, f"{self.nseq} NOTIFY", tag=";tag=x")
        return len(self.c.packets) - 1       # the frame of the NOTIFY (1-based: the 200 is the last one)

    def refer(self, *, referred_by: bool = True, status: str = "202 Accepted", pass_on: bool = True,
              refer_to: str = TARGET, keep_rb: bool = True, own: bool = False, own_rb: bool = True,
              far: tuple = (("100 Trying", "active"), ("200 OK", "terminated")), relay_notifies: bool = True,
              dut: tuple | None = None):
        """Our REFER; a proxy passes it on (``pass_on``) and relays the far end's 202 and NOTIFYs (``far``), or a
        gateway (``own``) sends its own INVITE to the target and its own NOTIFYs (``dut``, default as ``far``)."""
        rb = (f"Referred-By: <sip:+14255550100@{MS};user=phone>",) if referred_by else ()
        t_leg, t_tag, e_leg, e_tag = (self.b, ";tag=cb", self.a, ";tag=da") if self.inbound else \
            (self.a, ";tag=da", self.b, ";tag=cb")
        via = self._req(MS, DUT, "REFER", t_leg, 5, f"{checks.MARKER}: {TEST_ID}",
                        f"Refer-To: <sip:{TARGET}@sbc.lab.example;user=phone>", *rb, to_tag=t_tag)
        self.frames = {"refer": len(self.c.packets)}
        if pass_on and not own:
            via_b = self._req(DUT, FAR, "REFER", e_leg, 6, f"Refer-To: <sip:{refer_to}@{FAR};user=phone>",
                              *(rb if keep_rb else ()), to_tag=e_tag)
            self.frames["relayed"] = len(self.c.packets)
            self._resp(FAR, DUT, "202 Accepted", e_leg, via_b, "6 REFER", tag=e_tag)
        self._resp(DUT, MS, status, t_leg, via, "5 REFER", tag=t_tag)
        if not status.startswith("2"):
            return self
        if own:
            leg_c = ("Call-ID: leg-c@x", "From: <sip:+14255550100@sbc.lab.example>;tag=dc", f"To: <sip:{TARGET}@y>")
            via_c = self._req(DUT, FAR, "INVITE", leg_c, 1, *(rb if own_rb else ()), CT,
                              body=sdp(1, DUT, PORT["dut->callee"] + 10))
            self.frames["own"] = len(self.c.packets)
            self._resp(FAR, DUT, "200 OK", leg_c, via_c, "1 INVITE", CT, tag=";tag=tc",
                       body=sdp(1, FAR, PORT["callee"] + 10, pts=(0, 101)))
            self._req(DUT, FAR, "ACK", leg_c, 1, to_tag=";tag=tc")
        for i, (frag, state) in enumerate(far if not own else ()):
            self.frames[f"far{i}"] = self._notify(FAR, DUT, e_leg, frag, state)
            if relay_notifies and dut is None:
                self.frames[f"dut{i}"] = self._notify(DUT, MS, t_leg, frag, state)
        for i, (frag, state) in enumerate(dut or (far if own else ())):
            self.frames[f"dut{i}"] = self._notify(DUT, MS, t_leg, frag, state)
        return self


def _bad(found):
    return [f for f in found if not f.ok]


def _judge(tr, referred_by=True, outcome=200):
    return checks.refer_transfer(tr, spec=_spec(MS, FAR), target=TARGET, referred_by=referred_by, outcome=outcome)


def test_refer_passed_on_and_relayed_passes_with_labels(tmp_path):
    rc = ReferCall().call().refer()
    tr = rc.hangup().trace(tmp_path)
    found = _judge(tr)
    assert _bad(found) == [], _bad(found)
    msgs = {f.rule: f.message for f in found}
    assert "relayed from the far end's 202" in msgs["RFC3515-01"]
    assert "passed our REFER on" in msgs["XFR-01"] and "not the DUT's own INVITE" in msgs["XFR-01"]
    assert f"relayed from the far end's NOTIFY, frame {rc.frames['far1']}" in msgs["RFC3515-02"]
    assert "NOTIFY sipfrag 100, 200" in msgs["RFC3515-02"]


def test_gateway_carrying_the_transfer_out_itself_passes(tmp_path):
    rc = ReferCall().call().refer(own=True)
    found = _judge(rc.hangup().trace(tmp_path))
    assert _bad(found) == [], _bad(found)
    msgs = {f.rule: f for f in found}
    assert "carried the transfer out" in msgs["XFR-01"].message and msgs["XFR-01"].frames == [rc.frames["own"]]
    assert "relayed" not in msgs["RFC3515-02"].message and msgs["RFC3892-01"].frames == [rc.frames["own"]]


@pytest.mark.parametrize("own", [False, True], ids=["proxy", "gateway"])
def test_referred_by_not_copied_fails_rfc3892(tmp_path, own):
    rc = ReferCall().call().refer(own=own, keep_rb=False, own_rb=False)
    bad = _bad(_judge(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3892-01"] and "observed no Referred-By" in bad[0].message, bad
    assert bad[0].frames == [rc.frames["own" if own else "relayed"]]


def test_refer_without_referred_by_judges_no_copy(tmp_path):
    found = _judge(ReferCall().call().refer(referred_by=False).hangup().trace(tmp_path), referred_by=False)
    assert _bad(found) == [] and not any(f.rule == "RFC3892-01" for f in found), found


def test_refer_refused_fails_rfc3515_01(tmp_path):
    bad = _bad(_judge(ReferCall().call().refer(status="403 Forbidden", pass_on=False).hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3515-01"] and "observed 403 Forbidden" in bad[0].message, bad


def test_far_notify_not_passed_on_fails_rfc3515_02(tmp_path):
    rc = ReferCall().call().refer(relay_notifies=False)
    bad = _bad(_judge(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3515-02"], bad
    assert "never passed on" in bad[0].message and bad[0].frames == [rc.frames["far0"]]


def test_final_notify_with_another_outcome_fails_rfc3515_02(tmp_path):
    rc = ReferCall().call().refer(dut=(("100 Trying", "active"), ("503 Service Unavailable", "terminated")))
    bad = _bad(_judge(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3515-02"] and "observed SIP/2.0 503" in bad[0].message, bad
    assert bad[0].frames == [rc.frames["dut1"]]


def test_no_notify_terminating_the_subscription_fails_rfc3515_02(tmp_path):
    rc = ReferCall().call().refer(dut=(("100 Trying", "active"),))
    bad = _bad(_judge(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["RFC3515-02"] and "none terminating" in bad[0].message, bad


def test_refer_to_rewritten_when_passed_on_fails_xfr01(tmp_path):
    rc = ReferCall().call().refer(refer_to="+15550009999")
    bad = _bad(_judge(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["XFR-01"] and "Refer-To: <sip:+15550009999" in bad[0].message, bad
    assert bad[0].frames == [rc.frames["relayed"]]


def test_busy_target_with_the_call_going_on_passes(tmp_path):
    rc = ReferCall().call().refer(far=(("100 Trying", "active"), ("486 Busy Here", "terminated")))
    found = _judge(rc.rtp().hangup().trace(tmp_path), outcome=486)
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and "the original call went on" in f.message for f in found)


def test_busy_target_with_the_call_dropped_fails_xfr01(tmp_path):
    rc = ReferCall().call().refer(far=(("100 Trying", "active"), ("486 Busy Here", "terminated")))
    bad = _bad(_judge(rc.hangup().trace(tmp_path), outcome=486))
    assert [f.rule for f in bad] == ["XFR-01"] and "DUT -> caller: 0 packets" in bad[0].message, bad
    assert bad[0].frames == [rc.frames["dut1"]]


def test_our_missing_refer_is_error_not_fail(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _judge(ReferCall().call().hangup().trace(tmp_path))


# ---- TC-XFR-08: Lync (our callee on an IN call) transfers the PSTN caller back to the PSTN ------------------------

def _judge_in(tr):
    return checks.refer_transfer(tr, spec=_spec(FAR, MS), target=TARGET, referred_by=True, outcome=200, severity="R",
                                 by="callee")


def test_inbound_call_transferred_by_lync_passes(tmp_path):
    rc = ReferCall(inbound=True).call().refer()
    found = _judge_in(rc.hangup().trace(tmp_path))
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and f.rule == "XFR-01" and f"passed our REFER on to {FAR}" in f.message for f in found)


def test_inbound_refer_answered_and_dropped_fails_xfr01(tmp_path):
    """The fault faulty-refer-no-notify shows on OUT calls in the lab: 202 from the DUT, nothing passed on."""
    rc = ReferCall(inbound=True).call().refer(pass_on=False, far=())
    bad = _bad(_judge_in(rc.hangup().trace(tmp_path)))
    assert [f.rule for f in bad] == ["XFR-01", "RFC3515-02"] and "observed neither" in bad[0].message, bad
    assert "observed none" in bad[1].message and bad[1].severity == "R"
