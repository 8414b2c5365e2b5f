"""TC-XFR-04/05/07 on crafted captures: a transfer by media retarget that the DUT follows passes, and each fault
FAILs with the right rule and frame (the lab proves an in-dialog offer passed on without the media anchor end to end:
faulty-indlg-unanchored, tests/test_lab.py; these prove the rest: the DUT staying on the old endpoint, moving too
late, sending to both, refusing the re-INVITE, a 3pcc re-INVITE answered without an offer, a REFER sent toward the
Mediation side, and our own missing re-INVITE as ERROR). The two legs have their own Call-ID, tags and CSeq (a
B2BUA)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, sdp  # noqa: E402
from test_checks_hld import CT, PORT, TEST_ID, HoldCall, _spec  # noqa: E402

from sipqual import checks  # noqa: E402

NEW = PORT["caller"] + 2      # the transfer target's endpoint (our caller's address, another port)


class Transfer(HoldCall):
    """A call through the DUT whose caller moves its media to ``NEW`` by re-INVITE; the DUT's RTP toward the caller
    goes to the ports in ``self.dests``."""

    def __init__(self, caller: str = MS, callee: str = FAR):
        super().__init__(caller, callee)
        self.dests = [PORT["caller"]]

    def media(self, packets: int = 30):
        """20 ms G.711 both ways on both legs, the DUT's toward the caller to every port in ``dests``."""
        flows = [(self.caller, PORT["caller"], DUT, PORT["dut->caller"]),
                 (self.callee, PORT["callee"], DUT, PORT["dut->callee"]),
                 (DUT, PORT["dut->callee"], self.callee, PORT["callee"])]
        flows += [(DUT, PORT["dut->caller"], self.caller, d) for d in self.dests]
        start = self.rtp_seq = getattr(self, "rtp_seq", 0)
        for i in range(start, start + packets):
            for n, (src, sport, dst, dport) in enumerate(flows):
                hdr = bytes([0x80, 0]) + (i % 65536).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                    (0x1000 + sport + dport).to_bytes(4, "big")
                self.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                             UDP(sport=sport, dport=dport) / (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)
        self.rtp_seq = start + packets
        return self

    def call(self):
        super().call()
        return self

    def _follow(self, follow: str):
        """What the DUT's RTP toward the caller does once the new endpoint is named: ``now`` moves at once, ``late``
        after 1.4 s, ``never`` stays on the old port, ``both`` sends to both."""
        if follow == "late":
            self.media(70)
        self.dests = {"now": [NEW], "late": [NEW], "never": [PORT["caller"]], "both": [PORT["caller"], NEW]}[follow]
        return self.media(70)

    def offer(self, follow: str = "now", status: str = "200 OK", refer: bool = False):
        """The caller's re-INVITE offers ``NEW``; the DUT passes it on (and, with ``refer``, first sends the
        Mediation-side callee a REFER), the callee answers, the DUT answers the caller ``status``."""
        if refer:
            self.seq_b += 1
            via = self._req(DUT, self.callee, "REFER", self.b, self.seq_b, "Refer-To: <sip:+15550003000@x>",
                            to_tag=";tag=cb")
            self._resp(self.callee, DUT, "202 Accepted", self.b, via, f"{self.seq_b} REFER", tag=";tag=cb")
        self.reinvite("sendrecv", status=status, port=NEW, media=False)
        return self._follow(follow) if status.startswith("2") else self.media(40)

    def tpcc(self, follow: str = "now", offer_in_200: bool = True):
        """The caller's re-INVITE without SDP; the callee offers in its 200, the DUT offers to the caller in its 200
        (unless not ``offer_in_200``), the caller answers with ``NEW`` in its ACK."""
        self.seq_a += 1
        via = self._req(self.caller, DUT, "INVITE", self.a, self.seq_a, f"{checks.MARKER}: {TEST_ID}",
                        to_tag=";tag=da")
        self.seq_b += 1
        via_b = self._req(DUT, self.callee, "INVITE", self.b, self.seq_b, to_tag=";tag=cb")
        self._resp(self.callee, DUT, "200 OK", self.b, via_b, f"{self.seq_b} INVITE", CT, tag=";tag=cb",
                   body=self._sdp("callee", self.callee, "sendrecv"))
        body = self._sdp("dut->caller", DUT, "sendrecv") if offer_in_200 else ""
        self._resp(DUT, self.caller, "200 OK", self.a, via, f"{self.seq_a} INVITE", *((CT,) if body else ()),
                   tag=";tag=da", body=body)
        self._req(self.caller, DUT, "ACK", self.a, self.seq_a, CT, to_tag=";tag=da",
                  body=self._sdp("caller", self.caller, "sendrecv", port=NEW))
        self._req(DUT, self.callee, "ACK", self.b, self.seq_b, CT, to_tag=";tag=cb",
                  body=self._sdp("dut->callee", DUT, "sendrecv"))
        return self._follow(follow)


def _bad(found):
    return [f for f in found if not f.ok]


def _judge(tr, mode="offer", lync=True):
    spec = _spec(MS, FAR) if lync else _spec(FAR, MS)
    return checks.media_retarget(tr, spec=spec, mode=mode, severity="M" if lync else "R", lync_side=lync)


def _reinvite_200(tr, src=DUT):
    """The frame of the DUT's 200 to our transfer re-INVITE (CSeq 2)."""
    return [p.frame for p in tr.sip if p.src == src and p.msg.status == 200 and p.msg.cseq.seq == 2
            and p.msg.cseq_method == "INVITE" and p.dst in (MS, FAR)][-1]


# ---- TC-XFR-04: re-INVITE with an offer ------------------------------------------------------------------------------

def test_media_followed_to_the_new_endpoint_passes(tmp_path):
    tr = Transfer().call().offer().hangup().trace(tmp_path)
    found = _judge(tr)
    assert _bad(found) == [], _bad(found)
    ok = [f for f in found if f.rule == "XFR-02"]
    assert ok and ok[0].ok and f"192.0.2.10:{NEW} within 1 s" in ok[0].message and ok[0].frames == [_reinvite_200(tr)]


@pytest.mark.parametrize("follow, observed", [("never", "0 packets there; its RTP went on to the old endpoint"),
                                              ("late", "its first packet there 1.4"),
                                              ("both", "RTP there until")])
def test_media_not_following_in_time_fails_xfr02(tmp_path, follow, observed):
    tr = Transfer().call().offer(follow).hangup().trace(tmp_path)
    bad = _bad(_judge(tr))
    assert [f.rule for f in bad] == ["XFR-02"], bad
    assert observed in bad[0].message and bad[0].frames == [_reinvite_200(tr)], bad[0].message


def test_transfer_reinvite_refused_fails_xfr02(tmp_path):
    tr = Transfer().call().offer(status="488 Not Acceptable Here").hangup().trace(tmp_path)
    bad = _bad(_judge(tr))
    assert [f.rule for f in bad] == ["XFR-02"] and "observed 488 Not Acceptable Here" in bad[0].message, bad


def test_our_missing_transfer_reinvite_is_error_not_fail(tmp_path):
    tr = Transfer().call().hangup().trace(tmp_path)
    with pytest.raises(checks.StimulusMissing):
        _judge(tr)


# ---- TC-XFR-05: 3pcc, re-INVITE without SDP, the answer in the ACK ----------------------------------------------------

def test_3pcc_transfer_followed_passes(tmp_path):
    tr = Transfer().call().tpcc().hangup().trace(tmp_path)
    found = _judge(tr, "3pcc")
    assert _bad(found) == [], _bad(found)
    ack = [p.frame for p in tr.sip if p.src == MS and p.msg.method == "ACK" and p.msg.cseq.seq == 2][0]
    assert any(f.ok and f.rule == "XFR-02" and f.frames == [ack] for f in found), found


def test_3pcc_answered_without_an_offer_fails_xfr02(tmp_path):
    tr = Transfer().call().tpcc(offer_in_200=False).hangup().trace(tmp_path)
    bad = _bad(_judge(tr, "3pcc"))
    assert [f.rule for f in bad] == ["XFR-02"] and "an SDP offer in the DUT's 200" in bad[0].message, bad
    assert bad[0].frames == [_reinvite_200(tr)]


def test_3pcc_answer_in_the_ack_ignored_fails_xfr02(tmp_path):
    tr = Transfer().call().tpcc(follow="never").hangup().trace(tmp_path)
    bad = _bad(_judge(tr, "3pcc"))
    assert [f.rule for f in bad] == ["XFR-02"] and "0 packets there" in bad[0].message, bad


# ---- TC-XFR-07: a DUT-side user transfers; no REFER toward the Mediation side -----------------------------------------

def test_dut_side_transfer_without_refer_passes(tmp_path):
    tr = Transfer(FAR, MS).call().offer().hangup().trace(tmp_path)
    found = _judge(tr, lync=False)
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and f.rule == "SIG-09" and "no REFER" in f.message for f in found)
    assert any(f.ok and f.rule == "SIG-09" and "passed the transfer on" in f.message for f in found)


def test_refer_toward_the_mediation_side_fails_sig09(tmp_path):
    tr = Transfer(FAR, MS).call().offer(refer=True).hangup().trace(tmp_path)
    bad = _bad(_judge(tr, lync=False))
    refer = [p.frame for p in tr.sip if p.msg.method == "REFER"][0]
    assert [f.rule for f in bad] == ["SIG-09"] and "observed REFER sip:" in bad[0].message, bad
    assert bad[0].frames == [refer] and bad[0].severity == "R"


def test_dut_side_transfer_not_followed_fails_sig09(tmp_path):
    tr = Transfer(FAR, MS).call().offer("never").hangup().trace(tmp_path)
    bad = _bad(_judge(tr, lync=False))
    assert [f.rule for f in bad] == ["SIG-09"] and "transfer target's endpoint 198.51.100.10" in bad[0].message, bad
