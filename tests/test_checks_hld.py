"""TC-HLD-01..07 on crafted captures: a good hold/resume call passes, and each DUT fault the cases must catch FAILs
with the right rule and frame (the lab proves "hold answered sendrecv" and the passed-on c=0.0.0.0 hold end to end
with faulty variants, tests/test_lab.py; these prove the rest: an inactive hold answered recvonly, a resume not
answered sendrecv, no audio after a resume, no RTCP toward Lync while held, the DUT's RTP staying on the old port
after a park is retrieved on a new one, the DUT's hold toward the Mediation side missing, unchanged or with its o=
version not bumped). The two legs have their own Call-ID, tags and CSeq (a B2BUA)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-HLD-X-tcp-abc"
CALLED = "+15550002000"
CT = "Content-Type: application/sdp"
PORT = {"caller": 30000, "callee": 50000, "dut->caller": 40002, "dut->callee": 40000}


def _spec(caller: str, callee: str) -> checks.CallSpec:
    return checks.CallSpec(TEST_ID, caller_ip=caller, callee_ip=callee, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)


class HoldCall:
    """A call from ``caller`` through the DUT to ``callee`` that the caller holds and resumes; every message built
    here so that a test can change exactly one thing."""

    def __init__(self, caller: str, callee: str):
        self.c, self.caller, self.callee = Capture(), caller, callee
        self.a = ("Call-ID: leg-a@x", "From: <sip:+14255550100@x>;tag=ca", f"To: <sip:{CALLED}@sbc.lab.example>")
        self.b = ("Call-ID: leg-b@x", "From: <sip:+14255550100@sbc.lab.example>;tag=db", f"To: <sip:{CALLED}@y>")
        self.seq_a = self.seq_b = 1
        self.ver = {"caller": 1, "callee": 1, "dut->caller": 1, "dut->callee": 1}
        self.n = 0
        self.dest = PORT["caller"]      # where the DUT sends the caller's RTP

    def _req(self, src, dst, method, leg, cseq, *extra, to_tag="", body=""):
        cid, frm, to = leg
        self.n += 1
        via = f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-{method.lower()}{self.n}"
        self.c.udp(src, dst, sip(f"{method} sip:{CALLED}@{dst} SIP/2.0", via, "Max-Forwards: 70", frm, to + to_tag,
                                 cid, f"CSeq: {cseq} {method}", f"Contact: <sip:x@{src}:5060>", *extra, body=body))
        return via

    def _resp(self, src, dst, status, leg, via, cseq, *extra, tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"SIP/2.0 {status}", via, frm, to + tag, cid, f"CSeq: {cseq}",
                                 f"Contact: <sip:x@{src}:5060>", *extra, body=body))

    def _sdp(self, who: str, addr: str, direction: str, step: int = 1, conn: str | None = None,
             port: int | None = None) -> str:
        self.ver[who] += step
        return sdp(self.ver[who], addr, port or PORT[who], direction=direction, conn=conn)

    def rtp(self, packets: int = 30, to_caller: bool = True):
        """20 ms G.711 both ways on both legs (the DUT's stream toward the caller left out unless ``to_caller``)."""
        flows = [(self.caller, PORT["caller"], DUT, PORT["dut->caller"]),
                 (self.callee, PORT["callee"], DUT, PORT["dut->callee"]),
                 (DUT, PORT["dut->callee"], self.callee, PORT["callee"])]
        if to_caller:
            flows.append((DUT, PORT["dut->caller"], self.caller, self.dest))
        start = self.rtp_seq = getattr(self, "rtp_seq", 0)
        for i in range(start, start + packets):
            for n, (src, sport, dst, dport) in enumerate(flows):
                hdr = bytes([0x80, 0]) + (i % 65536).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                    (0x1000 + sport).to_bytes(4, "big")
                self.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                             UDP(sport=sport, dport=dport) / (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)
        self.rtp_seq = start + packets
        return self

    def rtcp_while_held(self, seconds: int, dut_stops_after: float | None = None):
        """One RTCP compound a second for ``seconds`` from the callee to the DUT and (until ``dut_stops_after``, if
        given) from the DUT to the caller, each to the RTP port + 1."""
        from sipqual.flows.hld import _rtcp_compound
        for i in range(seconds):
            flows = [(self.callee, PORT["callee"] + 1, DUT, PORT["dut->callee"] + 1)]
            if dut_stops_after is None or i < dut_stops_after:
                flows.append((DUT, PORT["dut->caller"] + 1, self.caller, PORT["caller"] + 1))
            for n, (src, sport, dst, dport) in enumerate(flows):
                self.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                             UDP(sport=sport, dport=dport) / _rtcp_compound(0x2000 + sport), 1.0 if n == 0 else 0.0001)
        return self

    def call(self):
        via = self._req(self.caller, DUT, "INVITE", self.a, 1, f"{checks.MARKER}: {TEST_ID}", CT,
                        body=sdp(1, self.caller, PORT["caller"]))
        self._resp(DUT, self.caller, "100 Trying", self.a, via, "1 INVITE")
        via_b = self._req(DUT, self.callee, "INVITE", self.b, 1, CT, body=sdp(1, DUT, PORT["dut->callee"]))
        self._resp(self.callee, DUT, "200 OK", self.b, via_b, "1 INVITE", CT, tag=";tag=cb",
                   body=sdp(1, self.callee, PORT["callee"], pts=(0, 101)))
        self._req(DUT, self.callee, "ACK", self.b, 1, to_tag=";tag=cb")
        self._resp(DUT, self.caller, "200 OK", self.a, via, "1 INVITE", CT, tag=";tag=da",
                   body=sdp(1, DUT, PORT["dut->caller"], pts=(0, 101)))
        self._req(self.caller, DUT, "ACK", self.a, 1, to_tag=";tag=da")
        return self.rtp()

    def reinvite(self, direction: str, answer: str | None = None, *, relayed: str | None = None,
                 relay: bool = True, dut_step: int = 1, status: str = "200 OK", conn: str | None = None,
                 dut_conn: str | None = None, media: bool = True, to_caller: bool = True, port: int | None = None,
                 dut_follows: bool = True):
        """The caller re-INVITEs with a=``direction`` (c=``conn`` if given); the DUT re-INVITEs the callee with
        a=``relayed`` (default the same; o= version + ``dut_step``; c=``dut_conn``) unless not ``relay``; the callee
        answers per RFC 3264; the DUT answers the caller ``status`` with a=``answer`` (default per RFC 3264).
        ``port``: the caller offers that media port (a retrieved park), which the DUT follows if ``dut_follows``."""
        rfc = {"sendonly": "recvonly", "inactive": "inactive", "sendrecv": "sendrecv"}
        self.seq_a += 1
        via = self._req(self.caller, DUT, "INVITE", self.a, self.seq_a, f"{checks.MARKER}: {TEST_ID}", CT,
                        to_tag=";tag=da", body=self._sdp("caller", self.caller, direction, conn=conn, port=port))
        if port and dut_follows:
            self.dest = port
        self._resp(DUT, self.caller, "100 Trying", self.a, via, f"{self.seq_a} INVITE", tag=";tag=da")
        if relay:
            self.seq_b += 1
            rel = relayed or direction
            via_b = self._req(DUT, self.callee, "INVITE", self.b, self.seq_b, CT, to_tag=";tag=cb",
                              body=self._sdp("dut->callee", DUT, rel, dut_step, conn=dut_conn))
            self._resp(self.callee, DUT, "200 OK", self.b, via_b, f"{self.seq_b} INVITE", CT, tag=";tag=cb",
                       body=self._sdp("callee", self.callee, rfc.get(rel, "sendrecv")))
            self._req(DUT, self.callee, "ACK", self.b, self.seq_b, to_tag=";tag=cb")
        body = self._sdp("dut->caller", DUT, answer or rfc[direction]) if status.startswith("2") else ""
        self._resp(DUT, self.caller, status, self.a, via, f"{self.seq_a} INVITE", *((CT,) if body else ()),
                   tag=";tag=da", body=body)
        self._req(self.caller, DUT, "ACK", self.a, self.seq_a, to_tag=";tag=da")
        if direction == "sendrecv" and media:
            self.rtp(to_caller=to_caller)
        return self

    def cycle(self, hold: str = "sendonly", **resume):
        return self.reinvite(hold).reinvite("sendrecv", **resume)

    def hangup(self):
        self.seq_a += 1
        via = self._req(self.caller, DUT, "BYE", self.a, self.seq_a, to_tag=";tag=da")
        self.seq_b += 1
        via_b = self._req(DUT, self.callee, "BYE", self.b, self.seq_b, to_tag=";tag=cb")
        self._resp(self.callee, DUT, "200 OK", self.b, via_b, f"{self.seq_b} BYE", tag=";tag=cb")
        self._resp(DUT, self.caller, "200 OK", self.a, via, f"{self.seq_a} BYE", tag=";tag=da")
        return self

    def trace(self, tmp_path: Path):
        path = tmp_path / "hold.pcapng"
        self.c.write(path)
        return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


def _lync(tr, hold_dir="sendonly", cycles=1):
    return checks.hold_resume(tr, spec=_spec(MS, FAR), hold_dir=hold_dir, cycles=cycles, lync_holds=True)


def _far(tr, hold_dir="sendonly", cycles=1):
    return checks.hold_resume(tr, spec=_spec(FAR, MS), hold_dir=hold_dir, cycles=cycles, lync_holds=False)


# ---- TC-HLD-01 / -02: Lync holds, the DUT answers ---------------------------------------------------------------

@pytest.mark.parametrize("hold", ["sendonly", "inactive"])
def test_lync_hold_answered_per_rfc3264_passes(tmp_path, hold):
    tr = HoldCall(MS, FAR).call().cycle(hold).hangup().trace(tmp_path)
    found = _lync(tr, hold)
    assert _bad(found) == [], _bad(found)
    want = "recvonly" if hold == "sendonly" else "inactive"
    assert any(f.ok and f.rule == "HLD-01" and f"a={hold}" in f.message and f"a={want}" in f.message for f in found)
    assert any(f.ok and f.rule == "HLD-02" and "RTP both ways" in f.message for f in found)


@pytest.mark.parametrize("hold, answer", [("sendonly", "sendrecv"), ("inactive", "sendrecv"),
                                          ("inactive", "recvonly")])
def test_hold_answered_with_the_wrong_direction_fails_hld01(tmp_path, hold, answer):
    """sendonly answered sendrecv is the fault Lync drops the call for; inactive answered recvonly would have the
    DUT expect media Lync said it would not send."""
    hc = HoldCall(MS, FAR).call().reinvite(hold, answer)
    frame = len(hc.c.packets) - 1   # the DUT's 200 to our hold (the ACK after it is last)
    tr = hc.reinvite("sendrecv").hangup().trace(tmp_path)
    bad = _bad(_lync(tr, hold))
    assert [f.rule for f in bad] == ["HLD-01"], bad
    assert f"observed a={answer}" in bad[0].message and bad[0].frames == [frame]


def test_hold_rejected_fails_hld01(tmp_path):
    tr = HoldCall(MS, FAR).call().reinvite("sendonly", status="488 Not Acceptable Here").reinvite("sendrecv") \
        .hangup().trace(tmp_path)
    bad = _bad(_lync(tr))
    assert [f.rule for f in bad] == ["HLD-01"] and "observed 488 Not Acceptable Here" in bad[0].message, bad


def test_resume_answered_recvonly_fails_hld02(tmp_path):
    tr = HoldCall(MS, FAR).call().reinvite("sendonly").reinvite("sendrecv", "recvonly").hangup().trace(tmp_path)
    bad = _bad(_lync(tr))
    assert [f.rule for f in bad] == ["HLD-02"], bad
    assert "our resume re-INVITE a=sendrecv" in bad[0].message and "observed a=recvonly" in bad[0].message


def test_no_audio_toward_lync_after_resume_fails_hld02(tmp_path):
    """Both our agents stream after the resume, but the DUT relays nothing toward the Mediation side."""
    tr = HoldCall(MS, FAR).call().cycle(to_caller=False).hangup().trace(tmp_path)
    bad = _bad(_lync(tr))
    assert [f.rule for f in bad] == ["HLD-02"], bad
    assert "RTP both ways through the DUT after resume 1" in bad[0].message and "DUT -> caller: 0 packets" in \
        bad[0].message and bad[0].frames


def test_our_missing_resume_is_error_not_fail(tmp_path):
    """Our agent never resumed and the capture shows no DUT fault: we could not test (StimulusMissing)."""
    tr = HoldCall(MS, FAR).call().reinvite("sendonly").hangup().trace(tmp_path)
    with pytest.raises(checks.StimulusMissing):
        _lync(tr)


# ---- TC-HLD-04: RTCP while held ----------------------------------------------------------------------------------

def _rtcp_hold(tmp_path, seconds, **kw):
    tr = HoldCall(MS, FAR).call().reinvite("inactive").rtcp_while_held(seconds, **kw).reinvite("sendrecv").hangup() \
        .trace(tmp_path)
    return checks.hold_with_rtcp(tr, spec=_spec(MS, FAR))


def test_rtcp_kept_flowing_while_held_passes(tmp_path):
    found = _rtcp_hold(tmp_path, 6)
    assert _bad(found) == [] and any(f.ok and f.rule == "HLD-04" and "6 compounds" in f.message for f in found), \
        _bad(found)


@pytest.mark.parametrize("seconds, stops, observed", [(6, 0, "0 compound(s)"), (14, 2, "s without RTCP")])
def test_rtcp_stopped_while_held_fails_hld04(tmp_path, seconds, stops, observed):
    """No RTCP at all toward Lync during a short hold; RTCP stopping after 2 s of a 14 s hold (Lync drops a call
    after 30 s without RTCP: the full profile's 90 s hold shows it)."""
    bad = _bad(_rtcp_hold(tmp_path, seconds, dut_stops_after=stops))
    assert [f.rule for f in bad] == ["HLD-04"] and observed in bad[0].message and bad[0].frames, bad
    assert f"our far end sent {seconds} to the DUT meanwhile" in bad[0].message


def test_our_missing_rtcp_is_error_not_fail(tmp_path):
    tr = HoldCall(MS, FAR).call().reinvite("inactive").reinvite("sendrecv").hangup().trace(tmp_path)
    with pytest.raises(checks.StimulusMissing):
        checks.hold_with_rtcp(tr, spec=_spec(MS, FAR))


# ---- TC-HLD-06: park and retrieve on another media port ----------------------------------------------------------

def _park(tmp_path, **retrieve):
    tr = HoldCall(MS, FAR).call().reinvite("sendonly").reinvite("sendrecv", port=PORT["caller"] + 2, **retrieve) \
        .hangup().trace(tmp_path)
    return checks.park_retrieve(tr, spec=_spec(MS, FAR))


def test_park_retrieved_on_a_new_port_passes(tmp_path):
    found = _park(tmp_path)
    assert _bad(found) == [] and any(f.ok and f.rule == "HLD-06" and f"{MS}:{PORT['caller'] + 2}" in f.message
                                     for f in found), _bad(found)


def test_dut_keeping_the_old_port_after_retrieval_fails_hld06(tmp_path):
    bad = _bad(_park(tmp_path, dut_follows=False))
    assert [f.rule for f in bad] == ["HLD-06"] and "0 packets to port 30002" in bad[0].message and \
        "to the old port 30000" in bad[0].message and bad[0].frames, bad


def test_retrieve_on_the_same_port_is_our_missing_stimulus(tmp_path):
    tr = HoldCall(MS, FAR).call().cycle().hangup().trace(tmp_path)
    with pytest.raises(checks.StimulusMissing):
        checks.park_retrieve(tr, spec=_spec(MS, FAR))


# ---- TC-HLD-05: ten cycles ----------------------------------------------------------------------------------------

def test_ten_cycles_pass_and_one_silent_resume_fails(tmp_path):
    good = HoldCall(MS, FAR).call()
    for _ in range(10):
        good.cycle("inactive")
    found = _lync(good.hangup().trace(tmp_path), "inactive", 10)
    assert _bad(found) == [] and any("after each of 10 resume(s)" in f.message for f in found), _bad(found)
    bad_call = HoldCall(MS, FAR).call()
    for n in range(10):
        bad_call.cycle("inactive", to_caller=n != 6)
    (tmp_path / "b").mkdir()
    bad = _bad(_lync(bad_call.hangup().trace(tmp_path / "b"), "inactive", 10))
    assert [f.rule for f in bad] == ["HLD-02"] and "after resume 7 " in bad[0].message, bad


# ---- TC-HLD-03: the far end holds, the DUT re-INVITEs the Mediation side ------------------------------------------

def test_far_hold_carried_to_lync_with_version_plus_one_passes(tmp_path):
    tr = HoldCall(FAR, MS).call().cycle("sendonly").hangup().trace(tmp_path)
    found = _far(tr)
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and "o= version 1 -> 2, session 1000 kept" in f.message for f in found)
    assert any(f.ok and "o= version 2 -> 3" in f.message for f in found)


def test_far_hold_with_version_not_bumped_fails_hld03(tmp_path):
    tr = HoldCall(FAR, MS).call().reinvite("sendonly", dut_step=0).reinvite("sendrecv").hangup().trace(tmp_path)
    bad = _bad(_far(tr))
    assert {f.rule for f in bad} == {"HLD-03"}, bad
    assert any("version 2 (one higher than frame" in f.message and "observed o= sq 1000 version 1" in f.message
               for f in bad), bad


def test_far_hold_relayed_as_sendrecv_fails_hld03(tmp_path):
    tr = HoldCall(FAR, MS).call().reinvite("sendonly", relayed="sendrecv").reinvite("sendrecv").hangup() \
        .trace(tmp_path)
    bad = _bad(_far(tr))
    assert [f.rule for f in bad] == ["HLD-03"] and "observed a=sendrecv" in bad[0].message and bad[0].frames, bad


def test_far_hold_never_carried_to_lync_fails_hld03(tmp_path):
    """The DUT answers the far end's hold itself and never tells the Mediation side."""
    tr = HoldCall(FAR, MS).call().reinvite("sendonly", relay=False).reinvite("sendrecv", relay=False).hangup() \
        .trace(tmp_path)
    bad = _bad(_far(tr))
    assert [f.rule for f in bad] == ["HLD-03"] and "observed none" in bad[0].message, bad


# ---- TC-HLD-07: legacy c=0.0.0.0 hold from the far end ------------------------------------------------------------

def _legacy(tmp_path, **relay):
    tr = HoldCall(FAR, MS).call().reinvite("sendonly", conn="0.0.0.0", **relay).reinvite("sendrecv").hangup() \
        .trace(tmp_path)
    return checks.legacy_hold(tr, spec=_spec(FAR, MS))


def test_legacy_hold_turned_into_sendonly_passes(tmp_path):
    found = _legacy(tmp_path)
    assert _bad(found) == [] and any(f.ok and f.rule == "RFC3264-05" and f"c={DUT} a=sendonly" in f.message
                                     for f in found), found


def test_legacy_hold_passed_on_is_flagged_informative(tmp_path):
    bad = _bad(_legacy(tmp_path, dut_conn="0.0.0.0"))
    assert [(f.rule, f.severity) for f in bad] == [("RFC3264-05", "I")] and "observed c=0.0.0.0" in bad[0].message


def test_legacy_hold_lost_on_the_way_fails_hld03(tmp_path):
    """The DUT replaces the zero address but offers sendrecv: the Mediation side never learns of the hold."""
    bad = _bad(_legacy(tmp_path, relayed="sendrecv"))
    assert [(f.rule, f.severity) for f in bad] == [("HLD-03", "M")], bad
