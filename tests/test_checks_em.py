"""Suite EM on crafted captures: a good early-media call and a good forked call pass, and each DUT fault the cases
must catch FAILs them with the right rule and frame. The lab shows the 183's SDP stripped (faulty-early-sdp-stripped)
and a CANCEL not relayed end to end (tests/test_lab.py); these prove what no cheap Kamailio variant does: forked early
dialogs collapsed into one (a proxy passing on only the first fork, an ACK or RTP in the wrong fork), early RTP not
relayed, a 200 whose SDP differs from the 183's."""

from __future__ import annotations

import sys
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-EM-X-tcp-abc"
CALLED = "+14255550123"
CT = "Content-Type: application/sdp"
OTHER_PORT = 50100          # the SDP port of the forks that are not answered
WON_PORT = 50000            # the answering fork's (and a plain callee's) SDP port
CALLER_PORT, DUT_TO_CALLER, DUT_TO_CALLEE = 30000, 40002, 40000


def _spec(caller: str, callee: str) -> checks.CallSpec:
    return checks.CallSpec(TEST_ID, caller_ip=caller, callee_ip=callee, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)


def _rtp(c: Capture, flows: list[tuple[str, int, str, int]], packets: int = 30, first_seq: int = 0):
    """Interleaved 20 ms PCMU streams (src, sport, dst, dport), ``packets`` each."""
    for i in range(first_seq, first_seq + packets):
        for n, (src, sport, dst, dport) in enumerate(flows):
            hdr = bytes([0x80, 0]) + (i & 0xFFFF).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                (0x1000 + n + 16 * sport % 7).to_bytes(4, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)


class Legs:
    """A call from ``caller`` through the DUT (a proxy: the callee's To tags reach the caller) to ``callee``."""

    def __init__(self, caller: str, callee: str):
        self.c, self.caller, self.callee = Capture(), caller, callee
        self.a = ("Call-ID: leg-a@x", "From: <sip:+15550001000@x>;tag=ca", f"To: <sip:{CALLED}@sbc.lab.example>")
        self.b = ("Call-ID: leg-b@x", "From: <sip:+15550001000@sbc.lab.example>;tag=db", f"To: <sip:{CALLED}@y>")
        self.via_a = f"Via: SIP/2.0/UDP {caller}:5060;branch=z9hG4bK-a1"
        self.via_b = f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b1"

    def req(self, src, dst, method, leg, via, cseq, *extra, to_tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"{method} sip:{CALLED}@{dst} SIP/2.0", via, "Max-Forwards: 70", frm,
                                 to + (f";tag={to_tag}" if to_tag else ""), cid, f"CSeq: {cseq} {method}",
                                 f"Contact: <sip:x@{src}:5060>", *extra, body=body))

    def resp(self, src, dst, status, leg, via, cseq, *extra, tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"SIP/2.0 {status}", via, frm, to + (f";tag={tag}" if tag else ""), cid,
                                 f"CSeq: {cseq}", f"Contact: <sip:x@{src}:5060>", *extra,
                                 *((CT,) if body else ()), body=body))

    def invite(self):
        self.req(self.caller, DUT, "INVITE", self.a, self.via_a, 1, f"{checks.MARKER}: {TEST_ID}", CT,
                 body=sdp(1, self.caller, CALLER_PORT, pts=(0, 101)))
        self.resp(DUT, self.caller, "100 Trying", self.a, self.via_a, "1 INVITE")
        self.req(DUT, self.callee, "INVITE", self.b, self.via_b, 1, CT, body=sdp(1, DUT, DUT_TO_CALLEE, pts=(0, 101)))
        self.resp(self.callee, DUT, "100 Trying", self.b, self.via_b, "1 INVITE")
        return self

    def answered(self, tag: str, port: int = WON_PORT, ack_tag: str | None = None, rtp_port: int | None = None,
                 version: int = 1, dut_port: int = DUT_TO_CALLER):
        """The callee's 200 in dialog ``tag``, the DUT's ACK (in ``ack_tag``), its 200 to the caller (SDP version
        ``version``, port ``dut_port``), RTP both ways (the DUT's toward the callee to ``rtp_port``), the callee's
        BYE relayed."""
        self.resp(self.callee, DUT, "200 OK", self.b, self.via_b, "1 INVITE", tag=tag, body=sdp(1, self.callee, port,
                                                                                                pts=(0, 101)))
        self.req(DUT, self.callee, "ACK", self.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b2", 1,
                 to_tag=ack_tag or tag)
        self.resp(DUT, self.caller, "200 OK", self.a, self.via_a, "1 INVITE", tag=tag,
                  body=sdp(version, DUT, dut_port, pts=(0, 101)))
        self.req(self.caller, DUT, "ACK", self.a, f"Via: SIP/2.0/UDP {self.caller}:5060;branch=z9hG4bK-a2", 1,
                 to_tag=tag)
        _rtp(self.c, [(self.caller, CALLER_PORT, DUT, DUT_TO_CALLER), (DUT, DUT_TO_CALLER, self.caller, CALLER_PORT),
                      (self.callee, port, DUT, DUT_TO_CALLEE), (DUT, DUT_TO_CALLEE, self.callee, rtp_port or port)],
             first_seq=100)
        via = f"Via: SIP/2.0/UDP {self.callee}:5060;branch=z9hG4bK-bye1"
        self.req(self.callee, DUT, "BYE", self.b, via, 2, to_tag=tag)
        via_o = f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-bye2"
        self.req(DUT, self.caller, "BYE", self.a, via_o, 2, to_tag=tag)
        self.resp(self.caller, DUT, "200 OK", self.a, via_o, "2 BYE", tag=tag)
        self.resp(DUT, self.callee, "200 OK", self.b, via, "2 BYE", tag=tag)
        return self

    def trace(self, tmp_path: Path):
        path = tmp_path / "call.pcapng"
        self.c.write(path)
        return read_trace(path)


def _bad(found):
    return [f for f in found if not f.ok]


# ---- TC-EM-04: forked early dialogs kept apart (SIG-04) ---------------------------------------------------------------

def _forked(tmp_path, relay=(1, 2, 3), ack="f2", rtp_port=None, n=3, early_rtp=None):
    """IN call (far caller -> DUT -> Mediation side): ``n`` 183s with SDP (forks f1..fn; f2 answers with its own
    port), the DUT passing on the forks in ``relay`` under the callee's tags (the 183 of f2 carries the DUT's port
    DUT_TO_CALLER, as its 200 does). ``early_rtp``: fork 2 plays RTP before its 200, which the DUT relays to the
    caller when True (not when False)."""
    call = Legs(FAR, MS).invite()
    for k in range(1, n + 1):
        port = WON_PORT if k == 2 else OTHER_PORT
        call.resp(MS, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag=f"f{k}",
                  body=sdp(1, MS, port, pts=(0, 101)))
        if k in relay:
            call.resp(DUT, FAR, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag=f"f{k}",
                      body=sdp(1, DUT, DUT_TO_CALLER if k == 2 else DUT_TO_CALLER + 2 * k, pts=(0, 101)))
    if early_rtp is not None:
        _rtp(call.c, [(MS, WON_PORT, DUT, DUT_TO_CALLEE)] + ([(DUT, DUT_TO_CALLER, FAR, CALLER_PORT)] if early_rtp
                                                             else []))
    return call.answered("f2", ack_tag=ack, rtp_port=rtp_port).trace(tmp_path)


def _fork_checks(tr, n=3):
    return (checks.forked_early_dialogs(tr, spec=_spec(FAR, MS), forks=n)
            + checks.basic_call(tr, spec=_spec(FAR, MS), hangup_by="callee"))


def test_three_forks_kept_apart_pass(tmp_path):
    found = _fork_checks(_forked(tmp_path))
    assert _bad(found) == [], _bad(found)
    assert any(f.ok and "all 3 early dialogs passed on" in f.message for f in found)
    assert any(f.ok and f.rule == "SIG-04" and "ACK in the answering fork's dialog (To tag f2)" in f.message
               for f in found)


def test_proxy_passing_on_only_the_first_fork_fails_em04(tmp_path):
    """Forks collapsed into one: the caller only ever sees the first fork's early dialog."""
    bad = _bad(_fork_checks(_forked(tmp_path, relay=(1,))))
    assert [f.rule for f in bad] == ["SIG-04"] and "the 183 of fork(s) f2, f3 never reached the caller" in \
        bad[0].message and bad[0].frames, bad


def test_dut_acking_the_first_fork_instead_of_the_answering_one_fails_em04(tmp_path):
    """The DUT matched the 200 to the early dialog it knew first: its ACK carries the first fork's tag."""
    bad = _bad(_fork_checks(_forked(tmp_path, ack="f1")))
    sig = [f for f in bad if f.rule == "SIG-04"]
    assert sig and "ACK with To tag f1" in sig[0].message and "(To tag f2)" in sig[0].message and sig[0].frames, bad


def test_dut_sending_media_to_the_first_fork_after_the_answer_fails_em04(tmp_path):
    """The DUT keeps the first fork's SDP as the answer: after the 200 its RTP goes to that fork's port."""
    bad = _bad(_fork_checks(_forked(tmp_path, rtp_port=OTHER_PORT)))
    sig = [f for f in bad if f.rule == "SIG-04"]
    assert sig and f"RTP to the answering fork's port {WON_PORT}" in sig[0].message and \
        f"to port {OTHER_PORT}, another fork's SDP" in sig[0].message, bad
    assert any(f.rule == "MED-02" for f in bad)       # basic_call sees the same: RTP not where the 200's SDP says


def test_twenty_forks_kept_apart_pass_and_collapsed_fail_em05(tmp_path):
    found = _fork_checks(_forked(tmp_path, relay=range(1, 21), n=20), n=20)
    assert _bad(found) == [] and any("all 20 early dialogs passed on" in f.message for f in found), _bad(found)
    bad = _bad(_fork_checks(_forked(tmp_path, relay=range(1, 9), n=20, ack="f1"), n=20))
    assert [f.rule for f in bad] == ["SIG-04", "SIG-04"], bad
    assert "8 of them; the 183 of fork(s) f9, f10, f11, f12, f13 never reached the caller" in bad[0].message
    assert "ACK with To tag f1" in bad[1].message


def test_second_fork_early_media_cut_through_passes_and_not_relayed_fails_em06(tmp_path):
    spec = _spec(FAR, MS)
    found = checks.early_media(_forked(tmp_path, early_rtp=True), spec=spec)
    assert _bad(found) == [] and any("the 200 repeats the 183's SDP" in f.message for f in found), _bad(found)
    bad = _bad(checks.early_media(_forked(tmp_path, early_rtp=False), spec=spec))
    assert [f.rule for f in bad] == ["RFC3960-01"] and "RTP from the DUT to the caller starting" in bad[0].message, bad


def test_fewer_forks_than_we_sent_is_an_error_not_a_dut_fault(tmp_path):
    import pytest

    with pytest.raises(checks.StimulusMissing):
        checks.forked_early_dialogs(_forked(tmp_path), spec=_spec(FAR, MS), forks=4)


# ---- TC-EM-01 / -07: 183 with SDP, early RTP relayed, the 200 repeating the 183's SDP (SIG-03, RFC3960-01) ----------

def _early(tmp_path, *, dut_sdp=True, relay_rtp=True, version=1, dut_port=DUT_TO_CALLER):
    """OUT call (Mediation caller -> DUT -> far callee): the callee's 183 with SDP and 0.6 s of RTP, then 200."""
    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag="cb",
              body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag="cb",
              body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)) if dut_sdp else "")
    _rtp(call.c, [(FAR, WON_PORT, DUT, DUT_TO_CALLEE)] + ([(DUT, DUT_TO_CALLER, MS, CALLER_PORT)] if relay_rtp else []))
    return call.answered("cb", version=version, dut_port=dut_port).trace(tmp_path)


def test_early_media_relayed_passes(tmp_path):
    found = checks.early_media(_early(tmp_path), spec=_spec(MS, FAR))
    assert _bad(found) == [], _bad(found)
    assert {f.rule for f in found} == {"SIG-03", "RFC3960-01"}
    assert any("the 200 repeats the 183's SDP (o=sq 1000 1" in f.message for f in found)


def test_183_without_sdp_fails_em01(tmp_path):
    bad = _bad(checks.early_media(_early(tmp_path, dut_sdp=False), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["SIG-03"] and "observed 183 without SDP" in bad[0].message and \
        len(bad[0].frames) == 2, bad


def test_early_rtp_not_relayed_before_the_200_fails_em01(tmp_path):
    bad = _bad(checks.early_media(_early(tmp_path, relay_rtp=False), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["RFC3960-01"] and "RTP from the DUT to the caller starting" in bad[0].message \
        and "the first RTP at frame" in bad[0].message, bad


def test_200_with_a_new_sdp_version_or_port_fails_em01(tmp_path):
    bad = _bad(checks.early_media(_early(tmp_path, version=2), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["RFC3960-01"] and "183: o=sq 1000 1" in bad[0].message and \
        "200: o=sq 1000 2" in bad[0].message and len(bad[0].frames) == 2, bad
    bad = _bad(checks.early_media(_early(tmp_path, dut_port=40010), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["RFC3960-01"] and "m=audio 40010" in bad[0].message, bad


def test_missing_early_media_from_our_callee_is_an_error(tmp_path):
    import pytest

    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "180 Ringing", call.b, call.via_b, "1 INVITE", tag="cb")
    with pytest.raises(checks.StimulusMissing):
        checks.early_media(call.answered("cb").trace(tmp_path), spec=_spec(MS, FAR))


# ---- TC-EM-02: DTMF into early media reaches the IVR before its 200 (MED-03) ------------------------------------------

def _events(c: Capture, src: str, sport: int, dst: str, dport: int, codes, ssrc: int):
    """RFC 4733 events (PT 101), 100 ms each, the end packet three times, fresh sequence numbers."""
    seq = 0
    for n, code in enumerate(codes):
        for i, (end, dur) in enumerate([(False, 160 * (k + 1)) for k in range(5)] + [(True, 800)] * 3):
            hdr = bytes([0x80, (0x80 if i == 0 else 0) | 101]) + seq.to_bytes(2, "big") + \
                (8000 + 1600 * n).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            body = bytes([code, (0x80 if end else 0) | 10]) + dur.to_bytes(2, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + body), 0.02)
            seq += 1


def _dtmf_call(tmp_path, relayed=(1, 2), late=False):
    """OUT call with early media; the caller sends DTMF 1 2 after the 183; the DUT relays ``relayed`` to the callee
    before the callee's 200 (after it when ``late``)."""
    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag="cb",
              body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag="cb",
              body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)))
    _rtp(call.c, [(FAR, WON_PORT, DUT, DUT_TO_CALLEE), (DUT, DUT_TO_CALLER, MS, CALLER_PORT)])
    _events(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, (1, 2), 0x5157D7F0)
    if not late:
        _events(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, relayed, 0x77)
    call.answered("cb")
    if late:
        _events(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, relayed, 0x77)
    return call.trace(tmp_path)


def test_dtmf_relayed_in_early_media_passes(tmp_path):
    found = checks.early_dtmf(_dtmf_call(tmp_path), spec=_spec(MS, FAR), digits="12")
    assert _bad(found) == [] and "1 2 in PT 101" in found[0].message, found


def test_dtmf_lost_in_early_media_fails_em02(tmp_path):
    bad = _bad(checks.early_dtmf(_dtmf_call(tmp_path, relayed=(1,)), spec=_spec(MS, FAR), digits="12"))
    assert [f.rule for f in bad] == ["MED-03"] and "observed 1 before it" in bad[0].message and bad[0].frames, bad


def test_dtmf_relayed_only_after_the_answer_fails_em02(tmp_path):
    bad = _bad(checks.early_dtmf(_dtmf_call(tmp_path, late=True), spec=_spec(MS, FAR), digits="12"))
    assert [f.rule for f in bad] == ["MED-03"] and "observed none before it, 1 2 after it" in bad[0].message, bad


def test_no_dtmf_from_our_caller_is_an_error(tmp_path):
    import pytest

    with pytest.raises(checks.StimulusMissing):
        checks.early_dtmf(_early(tmp_path), spec=_spec(MS, FAR), digits="12")


# ---- TC-EM-03: no SDP in a 180 after the 183 with SDP (SIG-07) --------------------------------------------------------

def _ringing(tmp_path, dut_180_sdp: bool | None):
    """The callee's 183 with SDP then 180 without; the DUT passes the 180 on with SDP, without, or (None) not at all."""
    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag="cb",
              body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag="cb",
              body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)))
    call.resp(FAR, DUT, "180 Ringing", call.b, call.via_b, "1 INVITE", tag="cb")
    if dut_180_sdp is not None:
        call.resp(DUT, MS, "180 Ringing", call.a, call.via_a, "1 INVITE", tag="cb",
                  body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)) if dut_180_sdp else "")
    return call.answered("cb").trace(tmp_path)


def test_180_without_sdp_after_183_is_recorded(tmp_path):
    for relayed, words in ((False, "passed on without SDP"), (None, "did not pass the callee's 180")):
        found = checks.ringing_after_early_media(_ringing(tmp_path, relayed), spec=_spec(MS, FAR))
        assert _bad(found) == [] and words in found[0].message and found[0].severity == "I", found


def test_180_with_sdp_after_183_is_flagged_em03(tmp_path):
    bad = _bad(checks.ringing_after_early_media(_ringing(tmp_path, True), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["SIG-07"] and bad[0].severity == "I" and "a 180 with SDP" in bad[0].message \
        and len(bad[0].frames) == 2, bad
