"""Suite BYP (media bypass) on crafted captures: the Mediation side signals from the Mediation Server (192.0.2.10) but
its SDP names a Lync client's address (192.0.2.20; a second client 192.0.2.21). A good bypass call passes each check;
each DUT fault FAILs with the right rule and frames: media sent to the Mediation Server instead of the client (also a
real faulty variant, faulty-bypass-to-source in tests/test_lab.py), the client's RTP not taken, media still sent to a
fork that did not answer, media not following the re-INVITE that leaves bypass, a hold answered sendrecv or media
after the resume sent to the Mediation Server, early media to the Mediation Server, the client's digits lost; our
own media missing is an ERROR (StimulusMissing), never a FAIL."""

from __future__ import annotations

import pytest

from test_checks_em import (CALLER_PORT, CT, DUT, DUT_TO_CALLEE, DUT_TO_CALLER, FAR, MAC, MS, TEST_ID, WON_PORT, Legs,
                            _bad, _events, _rtp, _spec)
from make_fixtures import sdp

from sipqual import checks

CLIENT, CLIENT2 = "192.0.2.20", "192.0.2.21"
MAC.setdefault(CLIENT, "02:00:00:00:00:14")
MAC.setdefault(CLIENT2, "02:00:00:00:00:15")
CPORT, CPORT2, CPORT3, NEW_PORT = 20000, 20004, 20008, 20012


class Bypass(Legs):
    """An OUT call in bypass: our Mediation-side INVITE (from MS) names CLIENT:CPORT as its media."""

    def out_answered(self, tag: str = "cb"):
        self.req(MS, DUT, "INVITE", self.a, self.via_a, 1, f"{checks.MARKER}: {TEST_ID}", CT,
                 body=sdp(1, MS, CPORT, pts=(0, 101), conn=CLIENT))
        self.resp(DUT, MS, "100 Trying", self.a, self.via_a, "1 INVITE")
        self.req(DUT, FAR, "INVITE", self.b, self.via_b, 1, CT, body=sdp(1, DUT, DUT_TO_CALLEE, pts=(0, 101)))
        return self

    def answer(self, tag: str = "cb"):
        self.resp(FAR, DUT, "200 OK", self.b, self.via_b, "1 INVITE", tag=tag, body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
        self.req(DUT, FAR, "ACK", self.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b2", 1, to_tag=tag)
        self.resp(DUT, MS, "200 OK", self.a, self.via_a, "1 INVITE", tag=tag,
                  body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)))
        self.req(MS, DUT, "ACK", self.a, f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-a2", 1, to_tag=tag)
        return self

    def media(self, dut_to=(CLIENT, CPORT), relay=True, packets=30, src=(CLIENT, CPORT)):
        """RTP both ways: ``src`` -> DUT, DUT -> ``dut_to``, the far end's both ways (DUT -> FAR only when
        ``relay``, the DUT passing on what the client sent)."""
        flows = [(src[0], src[1], DUT, DUT_TO_CALLER), (DUT, DUT_TO_CALLER, *dut_to),
                 (FAR, WON_PORT, DUT, DUT_TO_CALLEE)]
        if relay:
            flows.append((DUT, DUT_TO_CALLEE, FAR, WON_PORT))
        _rtp(self.c, flows, packets=packets, first_seq=self.seq)
        self.seq += packets
        return self

    seq = 100

    def reinvite(self, cseq: int, addr: str, port: int, direction: str, answer: str, tag: str = "cb"):
        via = f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-r{cseq}"
        self.req(MS, DUT, "INVITE", self.a, via, cseq, CT, to_tag=tag,
                 body=sdp(cseq, MS, port, pts=(0, 101), conn=addr, direction=direction))
        self.resp(DUT, MS, "200 OK", self.a, via, f"{cseq} INVITE", tag=tag,
                  body=sdp(cseq, DUT, DUT_TO_CALLER, pts=(0, 101), direction=answer))
        self.req(MS, DUT, "ACK", self.a, f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-ra{cseq}", cseq, to_tag=tag)
        return self


def _spec_out():
    return _spec(MS, FAR)


# ---- TC-BYP-01: media to and from the client (BYP-02) ---------------------------------------------------------------

def _out(tmp_path, **media):
    return Bypass(MS, FAR).out_answered().answer().media(**media).trace(tmp_path)


def test_media_with_the_client_passes(tmp_path):
    found = checks.bypass_media(_out(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT)
    assert _bad(found) == [] and [f.rule for f in found] == ["BYP-02", "BYP-02"], found
    assert "30 RTP packets to 192.0.2.20:20000, 0 to 192.0.2.10" in found[0].message and found[0].frames


def test_media_sent_to_the_mediation_server_instead_of_the_client_fails_byp02(tmp_path):
    bad = _bad(checks.bypass_media(_out(tmp_path, dut_to=(MS, CPORT)), spec=_spec_out(), client=CLIENT, port=CPORT))
    assert [f.rule for f in bad] == ["BYP-02"], bad
    assert "observed 0 RTP packets to 192.0.2.20:20000, 30 to 192.0.2.10" in bad[0].message
    assert "it sent RTP to 192.0.2.10:20000 instead" in bad[0].message and bad[0].frames


def test_media_to_the_client_on_another_port_fails_byp02(tmp_path):
    bad = _bad(checks.bypass_media(_out(tmp_path, dut_to=(CLIENT, CPORT + 2)), spec=_spec_out(), client=CLIENT,
                                   port=CPORT))
    assert [f.rule for f in bad] == ["BYP-02"] and "192.0.2.20:20002 instead" in bad[0].message, bad


def test_client_rtp_not_passed_on_fails_byp02(tmp_path):
    bad = _bad(checks.bypass_media(_out(tmp_path, relay=False), spec=_spec_out(), client=CLIENT, port=CPORT))
    assert [f.rule for f in bad] == ["BYP-02"] and "passed on to the far end" in bad[0].message, bad
    assert "observed 0 RTP packets from the DUT to 198.51.100.10" in bad[0].message and bad[0].frames


def test_no_rtp_from_our_client_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        checks.bypass_media(_out(tmp_path, src=(MS, CALLER_PORT)), spec=_spec_out(), client=CLIENT, port=CPORT)


# ---- TC-BYP-03: the call stays up without RTCP from the client (BYP-03) ---------------------------------------------

def _no_rtcp(tmp_path, dut_bye=False, media_stops=False, client_rtcp=False):
    call = Bypass(MS, FAR).out_answered().answer().media(packets=60)
    if client_rtcp:
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        rr = bytes([0x80, 201, 0, 1]) + (0x1234).to_bytes(4, "big")
        call.c._emit(Ether(src=MAC[CLIENT], dst=MAC[DUT]) / IP(src=CLIENT, dst=DUT, id=0) /
                     UDP(sport=CPORT + 1, dport=DUT_TO_CALLER + 1) / rr, 0.02)
    if media_stops:
        _rtp(call.c, [(CLIENT, CPORT, DUT, DUT_TO_CALLER), (FAR, WON_PORT, DUT, DUT_TO_CALLEE)], packets=60,
             first_seq=call.seq)
    else:
        call.media(packets=10)
    via = f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-bye1"
    if dut_bye:
        call.req(DUT, MS, "BYE", call.a, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-dbye", 2, to_tag="cb")
    else:
        call.req(MS, DUT, "BYE", call.a, via, 2, to_tag="cb")
    return checks.bypass_without_rtcp(call.trace(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT)


def test_call_kept_without_client_rtcp_passes(tmp_path):
    found = _no_rtcp(tmp_path)
    assert _bad(found) == [] and [f.rule for f in found] == ["BYP-03", "BYP-03"], found


def test_dut_hanging_up_fails_byp03(tmp_path):
    bad = _bad(_no_rtcp(tmp_path, dut_bye=True))
    assert [f.rule for f in bad] == ["BYP-03"] and "a BYE from the DUT" in bad[0].message and bad[0].frames, bad


def test_dut_media_stopping_before_our_bye_fails_byp03(tmp_path):
    bad = _bad(_no_rtcp(tmp_path, media_stops=True))
    assert [f.rule for f in bad] == ["BYP-03", "BYP-03"], bad
    assert "the last packet 1.2 s before our BYE" in bad[0].message


def test_our_client_sending_rtcp_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _no_rtcp(tmp_path, client_rtcp=True)


# ---- TC-BYP-02: forked clients, media with the answering one only (BYP-01, SIG-04) ----------------------------------

def _forked(tmp_path, stray=False, to=(CLIENT2, CPORT2), relay=True):
    """IN call: three 183s with SDP at CLIENT:CPORT (f1), CLIENT2:CPORT2 (f2), CLIENT:CPORT3 (f3), 200 from f2; the
    DUT sends its RTP to ``to`` (and goes on sending to fork 1 for 1.2 s when ``stray``)."""
    call = Legs(FAR, MS).invite()
    for k, (addr, port) in enumerate(((CLIENT, CPORT), (CLIENT2, CPORT2), (CLIENT, CPORT3)), 1):
        call.resp(MS, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag=f"f{k}",
                  body=sdp(1, MS, port, pts=(0, 101), conn=addr))
        call.resp(DUT, FAR, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag=f"f{k}",
                  body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)))
    call.resp(MS, DUT, "200 OK", call.b, call.via_b, "1 INVITE", tag="f2",
              body=sdp(1, MS, CPORT2, pts=(0, 101), conn=CLIENT2))
    call.req(DUT, MS, "ACK", call.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b2", 1, to_tag="f2")
    call.resp(DUT, FAR, "200 OK", call.a, call.via_a, "1 INVITE", tag="f2", body=sdp(1, DUT, DUT_TO_CALLER,
                                                                                     pts=(0, 101)))
    flows = [(CLIENT2, CPORT2, DUT, DUT_TO_CALLEE), (DUT, DUT_TO_CALLEE, *to), (FAR, CALLER_PORT, DUT, DUT_TO_CALLER)]
    flows += [(DUT, DUT_TO_CALLER, FAR, CALLER_PORT)] if relay else []
    flows += [(DUT, DUT_TO_CALLEE, CLIENT, CPORT)] if stray else []
    _rtp(call.c, flows, packets=60)
    return checks.bypass_fork_answered(call.trace(tmp_path), spec=_spec(FAR, MS), client=CLIENT2, port=CPORT2,
                                       other=CLIENT, other_port=CPORT)


def test_media_with_the_answering_client_passes(tmp_path):
    found = _forked(tmp_path)
    assert _bad(found) == [] and "the last of 3 early dialogs" in found[0].message, found


def test_media_still_sent_to_a_fork_that_did_not_answer_fails_byp01(tmp_path):
    bad = _bad(_forked(tmp_path, stray=True))
    assert [f.rule for f in bad] == ["BYP-01"] and "RTP to 192.0.2.20:20000 until +" in bad[0].message, bad
    assert len(bad[0].frames) == 2


def test_media_sent_to_the_first_fork_instead_of_the_answering_one_fails_byp01(tmp_path):
    bad = _bad(_forked(tmp_path, to=(CLIENT, CPORT)))
    assert [f.rule for f in bad] == ["BYP-01"] and "0 RTP packets to 192.0.2.21:20004" in bad[0].message, bad


def test_answering_client_rtp_not_passed_on_fails_byp01(tmp_path):
    bad = _bad(_forked(tmp_path, relay=False))
    assert [f.rule for f in bad] == ["BYP-01"] and "passed on by the DUT to the far end" in bad[0].message, bad


# ---- TC-BYP-04: the call leaves bypass by re-INVITE (BYP-04) ---------------------------------------------------------

def _leaves(tmp_path, follow=True):
    call = Bypass(MS, FAR).out_answered().answer().media()
    call.reinvite(2, MS, NEW_PORT, "sendrecv", "sendrecv")
    call.media(dut_to=(MS, NEW_PORT) if follow else (CLIENT, CPORT), src=(MS, NEW_PORT), packets=60)
    return checks.bypass_left(call.trace(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT, mediation=MS,
                              new_port=NEW_PORT)


def test_media_following_the_reinvite_to_the_mediation_server_passes(tmp_path):
    found = _leaves(tmp_path)
    assert _bad(found) == [] and [f.rule for f in found] == ["BYP-04", "BYP-04"], found


def test_media_still_sent_to_the_client_after_leaving_bypass_fails_byp04(tmp_path):
    bad = _bad(_leaves(tmp_path, follow=False))
    assert [f.rule for f in bad] == ["BYP-04"] and "RTP to 192.0.2.10:20012 from never" in bad[0].message, bad
    assert "to 192.0.2.20:20000 until +1." in bad[0].message and bad[0].frames


def test_mediation_server_rtp_not_passed_on_fails_byp04(tmp_path):
    call = Bypass(MS, FAR).out_answered().answer().media()
    call.reinvite(2, MS, NEW_PORT, "sendrecv", "sendrecv")
    call.media(dut_to=(MS, NEW_PORT), src=(MS, NEW_PORT), relay=False, packets=60)
    bad = _bad(checks.bypass_left(call.trace(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT, mediation=MS,
                                  new_port=NEW_PORT))
    assert [f.rule for f in bad] == ["BYP-04"] and "Mediation Server's RTP" in bad[0].message, bad
    assert "observed 0 RTP packets to 198.51.100.10" in bad[0].message


def test_no_reinvite_of_ours_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        checks.bypass_left(_out(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT, mediation=MS,
                           new_port=NEW_PORT)


# ---- TC-BYP-06: hold and resume at the client (HLD-05) ---------------------------------------------------------------

def _hold(tmp_path, hold_answer="recvonly", after=(CLIENT, CPORT)):
    call = Bypass(MS, FAR).out_answered().answer().media()
    call.reinvite(2, CLIENT, CPORT, "sendonly", hold_answer)
    call.reinvite(3, CLIENT, CPORT, "sendrecv", "sendrecv")
    call.media(dut_to=after)
    return checks.bypass_hold_resume(call.trace(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT)


def test_hold_and_resume_at_the_client_pass(tmp_path):
    found = _hold(tmp_path)
    assert _bad(found) == [] and len(found) == 4 and "a=recvonly" in found[0].message, found


def test_hold_answered_sendrecv_fails_hld05(tmp_path):
    bad = _bad(_hold(tmp_path, hold_answer="sendrecv"))
    assert [f.rule for f in bad] == ["HLD-05"] and "observed a=sendrecv" in bad[0].message and bad[0].frames, bad


def test_media_after_the_resume_sent_to_the_mediation_server_fails_hld05(tmp_path):
    bad = _bad(_hold(tmp_path, after=(MS, CPORT)))
    assert [f.rule for f in bad] == ["HLD-05"] and "0 packets to 192.0.2.20:20000 after the 200" in bad[0].message
    assert "30 to 192.0.2.10" in bad[0].message, bad


# ---- TC-BYP-07: early media and DTMF with the client (SIG-03, MED-03) ------------------------------------------------

def _early_dtmf(tmp_path, early_to=(CLIENT, CPORT), relayed=(1, 2, 11)):
    call = Bypass(MS, FAR).out_answered()
    call.resp(FAR, DUT, "183 Session Progress", call.b, call.via_b, "1 INVITE", tag="cb",
              body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "183 Session Progress", call.a, call.via_a, "1 INVITE", tag="cb",
              body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101)))
    _rtp(call.c, [(FAR, WON_PORT, DUT, DUT_TO_CALLEE), (DUT, DUT_TO_CALLER, *early_to)], packets=20)
    call.answer().media()
    _events(call.c, CLIENT, CPORT, DUT, DUT_TO_CALLER, (1, 2, 11), 0x5157D7F0)
    _events(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, relayed, 0x77)
    return checks.bypass_early_media_dtmf(call.trace(tmp_path), spec=_spec_out(), client=CLIENT, port=CPORT,
                                          digits="12#")


def test_early_media_and_digits_with_the_client_pass(tmp_path):
    found = _early_dtmf(tmp_path)
    assert _bad(found) == [] and [f.rule for f in found] == ["SIG-03", "MED-03"], found
    assert "1 2 #" in found[1].message and len(found[1].frames) == 3


def test_early_media_sent_to_the_mediation_server_fails_sig03(tmp_path):
    bad = _bad(_early_dtmf(tmp_path, early_to=(MS, CPORT)))
    assert [f.rule for f in bad] == ["SIG-03"] and "0 RTP packets to 192.0.2.20:20000" in bad[0].message, bad


def test_client_digit_lost_fails_med03(tmp_path):
    bad = _bad(_early_dtmf(tmp_path, relayed=(1, 11)))
    assert [f.rule for f in bad] == ["MED-03"] and "observed 1 #" in bad[0].message and bad[0].frames, bad


# ---- TC-BYP-05: SRTP with the client, with the client's keys (SRTP-06) ----------------------------------------------

def _srtp(tmp_path, fault: str | None = None):
    """Our client's RTP/SAVP offer (OUR_KEY) from MS naming CLIENT:CPORT, the DUT's RTP/SAVP answer (DUT_KEY); then
    the client's SRTP to the DUT, the DUT's SRTP to the client and its plain RTP to the far end. ``fault``: clear
    (the DUT's RTP to the client in clear), to-ms (its SRTP to the Mediation Server instead), no-relay (nothing to
    the far end), our-key (the client's SRTP under another key than its offer's: our fault)."""
    from make_fixtures import Capture
    from sipqual.trace import read_trace
    from test_srtp_checks import (CT as CT_, DUT_KEY, DUT_PORT, OTHER_KEY, OUR_KEY, SUITE, _dgram, _far, _ours,
                                  _rtp as _plain, _sender, _to_ms, b64)
    c = Capture()
    _ours(c, "INVITE", 1, CT_, body=sdp(1, MS, CPORT, conn=CLIENT, proto="RTP/SAVP",
                                        extra=(f"a=crypto:1 {SUITE} inline:{b64(OUR_KEY)}|2^31",)))
    _to_ms(c, "100 Trying")
    _far(c, "INVITE", 1, body=sdp(1, DUT, 50000))
    _far(c, "INVITE", 1, "200 OK", body=sdp(1, FAR, 26000, pts=(0,)), tag=True)
    _to_ms(c, "200 OK", "1 INVITE", CT_, body=sdp(1, DUT, DUT_PORT, pts=(0,), proto="RTP/SAVP",
                                                  extra=(f"a=crypto:1 {SUITE} inline:{b64(DUT_KEY)}",)))
    _ours(c, "ACK", 1, to_tag=";tag=dut1")
    mine, dut = _sender(OTHER_KEY if fault == "our-key" else OUR_KEY), _sender(DUT_KEY)
    for i in range(30):
        _dgram(c, CLIENT, CPORT, DUT, DUT_PORT, mine.protect(_plain(i + 1)))
        pkt = _plain(i + 1) if fault == "clear" else dut.protect(_plain(i + 1))
        _dgram(c, DUT, DUT_PORT, MS if fault == "to-ms" else CLIENT, CPORT, pkt, dt=0.0001)
        if fault != "no-relay":
            _dgram(c, DUT, 50000, FAR, 26000, _plain(i + 1), dt=0.0001)
    path = tmp_path / "srtp.pcapng"
    c.write(path)
    from test_srtp_checks import SPEC
    return checks.bypass_srtp(read_trace(path), spec=SPEC, client=CLIENT, port=CPORT)


def test_srtp_with_the_client_passes(tmp_path):
    found = _srtp(tmp_path)
    assert _bad(found) == [] and [f.rule for f in found] == ["SRTP-06", "RFC4568-02", "SRTP-06", "SRTP-06"], found
    assert "192.0.2.20:20000" in found[2].message and "30 of 30 packets authenticated" in found[2].message


def test_cleartext_to_the_client_fails_srtp06(tmp_path):
    bad = _bad(_srtp(tmp_path, "clear"))
    assert [f.rule for f in bad] == ["SRTP-06"] and "to 192.0.2.20:20000" in bad[0].message and bad[0].frames, bad


def test_srtp_sent_to_the_mediation_server_instead_of_the_client_fails_srtp06(tmp_path):
    bad = _bad(_srtp(tmp_path, "to-ms"))
    assert [f.rule for f in bad] == ["SRTP-06"] and "observed no packets" in bad[0].message, bad


def test_client_srtp_not_passed_on_fails_srtp06(tmp_path):
    bad = _bad(_srtp(tmp_path, "no-relay"))
    assert [f.rule for f in bad] == ["SRTP-06"] and "passed on to the far end" in bad[0].message, bad


def test_our_client_srtp_under_another_key_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _srtp(tmp_path, "our-key")
