"""TC-BAS-01/-02/-04/-06 on crafted captures: each good call passes, and the one DUT fault its case must catch FAILs
it with the right rule and frame (the lab proves the far end's BYE not relayed and the CANCEL not relayed end to end
with faulty variants, tests/test_lab.py; these prove the codec, the Mediation side's BYE and the 487's ACK)."""

from __future__ import annotations

import sys
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-BAS-X-tcp-abc"
CALLED = "+14255550123"
CT = "Content-Type: application/sdp"
#: media ports: each side's own, and the DUT's toward each side (what its SDP gives that side)
PORT = {"caller": 30000, "callee": 50000, "dut->caller": 40002, "dut->callee": 40000}


def _spec(caller: str, callee: str, codec_pt: int | None = None) -> checks.CallSpec:
    return checks.CallSpec(TEST_ID, caller_ip=caller, callee_ip=callee, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED,
                           codec_pt=codec_pt)


def _rtp(c: Capture, flows: list[tuple[str, int, str, int, int]], packets: int = 30):
    """Interleaved 20 ms G.711 streams (src, sport, dst, dport, pt), ``packets`` each."""
    for i in range(packets):
        for n, (src, sport, dst, dport, pt) in enumerate(flows):
            hdr = bytes([0x80, pt]) + i.to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + (0x1000 + n).to_bytes(4,
                                                                                                              "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)


class Call:
    """A call from ``caller`` through the DUT to ``callee``, the two legs each with their own Call-ID and tags (as a
    B2BUA), built message by message so a test can leave out or change exactly one thing."""

    def __init__(self, caller: str, callee: str):
        self.c, self.caller, self.callee = Capture(), caller, callee
        self.a = ("Call-ID: leg-a@x", "From: <sip:+15550001000@x>;tag=ca", f"To: <sip:{CALLED}@sbc.lab.example>")
        self.b = ("Call-ID: leg-b@x", "From: <sip:+15550001000@sbc.lab.example>;tag=db", f"To: <sip:{CALLED}@y>")
        self.via_a = f"Via: SIP/2.0/UDP {caller}:5060;branch=z9hG4bK-a1"
        self.via_b = f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b1"

    def _req(self, src, dst, method, leg, via, cseq, *extra, to_tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"{method} sip:{CALLED}@{dst} SIP/2.0", via, "Max-Forwards: 70", frm, to + to_tag,
                                 cid, f"CSeq: {cseq} {method}", f"Contact: <sip:x@{src}:5060>", *extra, body=body))

    def _resp(self, src, dst, status, leg, via, cseq, *extra, tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"SIP/2.0 {status}", via, frm, to + tag, cid, f"CSeq: {cseq}",
                                 f"Contact: <sip:x@{src}:5060>", *extra, body=body))

    def invite(self, offer=(0, 8, 101), relayed=None):
        self._req(self.caller, DUT, "INVITE", self.a, self.via_a, 1, f"{checks.MARKER}: {TEST_ID}", CT,
                  body=sdp(1, self.caller, PORT["caller"], pts=offer))
        self._resp(DUT, self.caller, "100 Trying", self.a, self.via_a, "1 INVITE")
        self._req(DUT, self.callee, "INVITE", self.b, self.via_b, 1, CT,
                  body=sdp(1, DUT, PORT["dut->callee"], pts=relayed or offer))
        self._resp(self.callee, DUT, "100 Trying", self.b, self.via_b, "1 INVITE")
        return self

    def answer(self, callee_pts=(0, 101), answer_pts=None, rtp_to_caller=None):
        """The callee answers in ``callee_pts``, the DUT answers the caller in ``answer_pts`` (default the same); both
        legs ACKed; then RTP both ways on both legs in the first of ``callee_pts`` (the DUT's stream toward the
        caller in ``rtp_to_caller`` when given)."""
        self._resp(self.callee, DUT, "200 OK", self.b, self.via_b, "1 INVITE", CT, tag=";tag=cb",
                   body=sdp(1, self.callee, PORT["callee"], pts=callee_pts))
        self._req(DUT, self.callee, "ACK", self.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b2", 1, to_tag=";tag=cb")
        self._resp(DUT, self.caller, "200 OK", self.a, self.via_a, "1 INVITE", CT, tag=";tag=da",
                   body=sdp(1, DUT, PORT["dut->caller"], pts=answer_pts or callee_pts))
        self._req(self.caller, DUT, "ACK", self.a, f"Via: SIP/2.0/UDP {self.caller}:5060;branch=z9hG4bK-a2", 1,
                  to_tag=";tag=da")
        pt = callee_pts[0]
        _rtp(self.c, [(self.caller, PORT["caller"], DUT, PORT["dut->caller"], pt),
                      (DUT, PORT["dut->caller"], self.caller, PORT["caller"], pt if rtp_to_caller is None
                       else rtp_to_caller),
                      (self.callee, PORT["callee"], DUT, PORT["dut->callee"], pt),
                      (DUT, PORT["dut->callee"], self.callee, PORT["callee"], pt)])
        return self

    def hangup(self, by: str, relayed: bool = True):
        """``by`` ("caller"/"callee") sends BYE; the DUT answers it and (when ``relayed``) clears the other leg."""
        if by == "caller":
            ours, leg, ours_tag, other, other_leg, other_tag = self.caller, self.a, ";tag=da", self.callee, self.b, \
                ";tag=cb"
        else:
            ours, leg, ours_tag, other, other_leg, other_tag = self.callee, self.b, ";tag=cb", self.caller, self.a, \
                ";tag=da"
        via = f"Via: SIP/2.0/UDP {ours}:5060;branch=z9hG4bK-bye1"
        self._req(ours, DUT, "BYE", leg, via, 2, to_tag=ours_tag)
        if relayed:
            via_o = f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-bye2"
            self._req(DUT, other, "BYE", other_leg, via_o, 2, to_tag=other_tag)
            self._resp(other, DUT, "200 OK", other_leg, via_o, "2 BYE", tag=other_tag)
        self._resp(DUT, ours, "200 OK", leg, via, "2 BYE", tag=ours_tag)
        return self

    def trace(self, tmp_path: Path):
        path = tmp_path / "call.pcapng"
        self.c.write(path)
        return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


# ---- TC-BAS-01 / -02: one codec offered, the same codec on both legs (MED-01) ----------------------------------------

def test_pcma_only_call_passes(tmp_path):
    tr = Call(FAR, MS).invite(offer=(8, 101)).answer(callee_pts=(8, 101)).hangup("caller").trace(tmp_path)
    found = checks.basic_call(tr, spec=_spec(FAR, MS, 8), hangup_by="caller")
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and "RTP DUT -> callee" in f.message and "PT [8]" in f.message for f in found)


def test_dut_offering_pcmu_when_only_pcma_was_offered_fails_med01(tmp_path):
    """The DUT offers the Mediation side PCMU and answers the caller in PCMU although the caller offered only PCMA."""
    tr = Call(FAR, MS).invite(offer=(8, 101), relayed=(0, 101)).answer(callee_pts=(0, 101)).hangup("caller") \
        .trace(tmp_path)
    bad = _bad(checks.basic_call(tr, spec=_spec(FAR, MS, 8), hangup_by="caller"))
    assert {f.rule for f in bad} == {"MED-01"}, bad
    offer = [f for f in bad if "the DUT's offer to the callee listing PT 8 (PCMA)" in f.message]
    assert offer and "m=audio 40000 RTP/AVP 0 101" in offer[0].message and offer[0].frames == [3]
    assert any("the answer to the caller in PT 8 (PCMA)" in f.message and f.frames for f in bad)
    assert any("RTP DUT -> caller in PT 8 (PCMA)" in f.message and "PT [0]" in f.message for f in bad)


def test_dut_sending_pcmu_rtp_on_a_pcma_call_fails_med01(tmp_path):
    """SDP right everywhere, but the DUT's RTP toward the caller carries PT 0."""
    tr = Call(FAR, MS).invite(offer=(8, 101)).answer(callee_pts=(8, 101), rtp_to_caller=0).hangup("caller") \
        .trace(tmp_path)
    bad = _bad(checks.basic_call(tr, spec=_spec(FAR, MS, 8), hangup_by="caller"))
    assert len(bad) == 1 and bad[0].rule == "MED-01" and "RTP DUT -> caller in PT 8 (PCMA)" in bad[0].message \
        and "PT [0]" in bad[0].message and bad[0].frames, bad


def test_without_a_codec_expectation_a_pcmu_answer_to_both_laws_passes(tmp_path):
    """codec_pt None (TC-TRN-01, TC-BAS-03/-04): any G.711 from the offer."""
    tr = Call(MS, FAR).invite().answer().hangup("caller").trace(tmp_path)
    assert _bad(checks.basic_call(tr, spec=_spec(MS, FAR), hangup_by="caller")) == []


# ---- TC-BAS-01 / -04: the Mediation side's BYE must clear the far leg (RFC3261-14) --------------------------------

def test_lync_callee_bye_not_relayed_fails_bas01(tmp_path):
    tr = Call(FAR, MS).invite(offer=(0, 101)).answer().hangup("callee", relayed=False).trace(tmp_path)
    bad = _bad(checks.basic_call(tr, spec=_spec(FAR, MS, 0), hangup_by="callee"))
    assert [f.rule for f in bad] == ["RFC3261-14"] and f"a BYE to {FAR}" in bad[0].message, bad
    good = Call(FAR, MS).invite(offer=(0, 101)).answer().hangup("callee").trace(tmp_path)
    assert _bad(checks.basic_call(good, spec=_spec(FAR, MS, 0), hangup_by="callee")) == []


def test_lync_caller_bye_not_relayed_fails_bas04(tmp_path):
    tr = Call(MS, FAR).invite().answer().hangup("caller", relayed=False).trace(tmp_path)
    bad = _bad(checks.basic_call(tr, spec=_spec(MS, FAR), hangup_by="caller"))
    assert [f.rule for f in bad] == ["RFC3261-14"] and f"a BYE to {FAR}" in bad[0].message, bad


# ---- TC-BAS-06: the DUT cancels toward the Mediation side on its INVITE's branch and ACKs the 487 -------------------

def _cancelled(tmp_path, *, cancel_branch="z9hG4bK-b1", ack_487=True):
    call = Call(FAR, MS).invite()
    c, a, b = call, call.a, call.b
    c._resp(MS, DUT, "180 Ringing", b, c.via_b, "1 INVITE", tag=";tag=cb")
    c._resp(DUT, FAR, "180 Ringing", a, c.via_a, "1 INVITE", tag=";tag=da")
    c._req(FAR, DUT, "CANCEL", a, c.via_a, 1, f"{checks.MARKER}: {TEST_ID}")
    c._resp(DUT, FAR, "200 OK", a, c.via_a, "1 CANCEL", tag=";tag=da")
    via_cancel = f"Via: SIP/2.0/UDP {DUT}:5060;branch={cancel_branch}"
    c._req(DUT, MS, "CANCEL", b, via_cancel, 1)
    c._resp(MS, DUT, "200 OK", b, via_cancel, "1 CANCEL", tag=";tag=cb")
    c._resp(MS, DUT, "487 Request Terminated", b, c.via_b, "1 INVITE", tag=";tag=cb")
    if ack_487:
        c._req(DUT, MS, "ACK", b, c.via_b, 1, to_tag=";tag=cb")
    c._resp(DUT, FAR, "487 Request Terminated", a, c.via_a, "1 INVITE", tag=";tag=da")
    c._req(FAR, DUT, "ACK", a, c.via_a, 1, to_tag=";tag=da")
    return call.trace(tmp_path)


def _cancel_check(tr):
    return checks.call_cancelled(tr, spec=_spec(FAR, MS), release_req="RFC3261-09")


def test_in_call_cancel_relayed_and_487_acked_passes(tmp_path):
    found = _cancel_check(_cancelled(tmp_path))
    assert _bad(found) == [] and any(f.ok and f.rule == "RFC3261-03" and "ACK from the DUT" in f.message
                                     for f in found)


def test_dut_never_acking_the_mediation_487_fails_bas06(tmp_path):
    bad = _bad(_cancel_check(_cancelled(tmp_path, ack_487=False)))
    assert [f.rule for f in bad] == ["RFC3261-03"] and "an ACK from the DUT for the callee's 487" in bad[0].message \
        and "none (1 transmission(s) of that 487)" in bad[0].message and bad[0].frames, bad


def test_dut_cancel_on_another_branch_fails_bas06(tmp_path):
    """A CANCEL on a new branch matches no transaction at the Mediation side (RFC 3261 9.1): the call rings on."""
    bad = _bad(_cancel_check(_cancelled(tmp_path, cancel_branch="z9hG4bK-other")))
    assert [f.rule for f in bad] == ["RFC3261-09"] and "branch z9hG4bK-other" in bad[0].message and bad[0].frames, bad


def test_pcma_tone_is_g711_a_law(tmp_path):
    """What our agents stream on a PCMA-only call (tone.alaw, PT 8) is A-law: G.711's values for 0, the extremes and
    segment boundaries; mu-law stays as it was."""
    from sipqual.media import alaw_byte, ulaw_byte, write_tone

    assert [alaw_byte(v) for v in (0, -8, 32767, -32768, 255, 256, 4095, 4096)] == \
        [0xD5, 0x55, 0xAA, 0x2A, 0xDA, 0xC5, 0x9A, 0x85]   # as audioop.lin2alaw (CPython <= 3.12) gives them
    assert ulaw_byte(0) == 0xFF and ulaw_byte(32767) == 0x80
    a, u = write_tone(tmp_path / "t.alaw", law="alaw").read_bytes(), write_tone(tmp_path / "t.ulaw").read_bytes()
    assert len(a) == len(u) == 24000 and a != u and a[0] == 0xD5
