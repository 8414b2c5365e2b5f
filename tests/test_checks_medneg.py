"""Suites MED and DTMF on crafted captures, continued (sipqual.checks.medneg): TC-MED-01's codec subsets and payload
types on the wire, TC-MED-05's record of the DUT while the Mediation side withholds RTCP, TC-DTMF-04's asymmetric
telephone-event payload types. Each DUT fault the checks must catch FAILs with its rule and frame; a good capture
passes."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from test_checks_em import CALLED, CT, DUT, FAR, MAC, MS, TEST_ID, Capture, _bad, _spec, sdp, sip

from sipqual import checks
from sipqual.trace import read_trace


def _rtp(c: Capture, flows, packets: int = 30, seq0: int = 100):
    """Interleaved 20 ms streams (src, sport, dst, dport, pt), ``packets`` each."""
    for i in range(seq0, seq0 + packets):
        for n, (src, sport, dst, dport, pt) in enumerate(flows):
            hdr = bytes([0x80, pt]) + (i & 0xFFFF).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                (0x1000 + n + sport).to_bytes(4, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)


class Call:
    """One OUT call through the DUT (a proxy) with its own marker and media ports; ``n`` keeps calls apart."""

    def __init__(self, c: Capture, n: int, marker: str, caller: str = MS, callee: str = FAR):
        self.c, self.n, self.marker, self.caller, self.callee = c, n, marker, caller, callee
        self.a = (f"Call-ID: a{n}@x", "From: <sip:+15550001000@x>;tag=ca", f"To: <sip:{CALLED}@sbc.lab.example>")
        self.b = (f"Call-ID: b{n}@x", "From: <sip:+15550001000@sbc>;tag=db", f"To: <sip:{CALLED}@y>")
        self.ms_port, self.dut_ms, self.dut_far, self.far_port = (30000 + 20 * n, 40000 + 20 * n, 40010 + 20 * n,
                                                                  50000 + 20 * n)

    def _req(self, src, dst, method, leg, cseq, *extra, to_tag="", body=""):
        cid, frm, to = leg
        self.c.udp(src, dst, sip(f"{method} sip:{CALLED}@{dst} SIP/2.0", f"Via: SIP/2.0/UDP {src}:5060;branch="
                                 f"z9hG4bK-{self.n}{method}{src[-1]}", "Max-Forwards: 70", frm,
                                 to + (f";tag={to_tag}" if to_tag else ""), cid, f"CSeq: {cseq} {method}",
                                 f"Contact: <sip:x@{src}:5060>", *extra, *((CT,) if body else ()), body=body))

    def _resp(self, src, dst, status, leg, cseq, tag, body=""):
        cid, frm, to = leg
        via = f"Via: SIP/2.0/UDP {dst}:5060;branch=z9hG4bK-{self.n}INVITE{dst[-1]}"
        self.c.udp(src, dst, sip(f"SIP/2.0 {status}", via, frm, f"{to};tag={tag}", cid, f"CSeq: {cseq}",
                                 f"Contact: <sip:x@{src}:5060>", *((CT,) if body else ()), body=body))

    def setup(self, offer=(0, 101), dut_offer=None, far_answer=None, answer=None):
        """Our offer, the DUT's offer to the far end, the far end's answer, the DUT's answer to us (PT lists)."""
        dut_offer = dut_offer or offer
        far_answer = far_answer or dut_offer
        answer = answer or far_answer
        def body(addr, port, pts):
            return pts if isinstance(pts, str) else sdp(1, addr, port, pts)
        caller, callee = self.caller, self.callee
        self._req(caller, DUT, "INVITE", self.a, 1, f"{checks.MARKER}: {self.marker}",
                  body=body(caller, self.ms_port, offer))
        self._req(DUT, callee, "INVITE", self.b, 1, body=body(DUT, self.dut_far, dut_offer))
        self._resp(callee, DUT, "200 OK", self.b, "1 INVITE", "fb", body=body(callee, self.far_port, far_answer))
        self._resp(DUT, caller, "200 OK", self.a, "1 INVITE", "fb", body=body(DUT, self.dut_ms, answer))
        self._req(caller, DUT, "ACK", self.a, 1, to_tag="fb")
        self._req(DUT, callee, "ACK", self.b, 1, to_tag="fb")
        return self

    def media(self, pt_ms=0, pt_far=0, to_ms=0, to_far=0, packets=30):
        """Our agents send ``pt_ms``/``pt_far``; the DUT sends ``to_ms`` to our caller, ``to_far`` to the far end
        (None: nothing)."""
        flows = [(MS, self.ms_port, DUT, self.dut_ms, pt_ms), (FAR, self.far_port, DUT, self.dut_far, pt_far)]
        flows += [(DUT, self.dut_ms, MS, self.ms_port, to_ms)] if to_ms is not None else []
        flows += [(DUT, self.dut_far, FAR, self.far_port, to_far)] if to_far is not None else []
        _rtp(self.c, flows, packets)
        return self

    def bye(self):
        self._req(self.caller, DUT, "BYE", self.a, 2, to_tag="fb")
        self._req(DUT, self.callee, "BYE", self.b, 2, to_tag="fb")
        return self


def _trace(c: Capture, tmp_path):
    path = tmp_path / "call.pcapng"
    c.write(path)
    return read_trace(path)


# ---- TC-MED-01: PCMU only / PCMA only / both, the answer a subset, the negotiated PT on the wire (MED-01) -----------

OFFERS = [("pcmu", [0]), ("pcma", [8]), ("both", [0, 8])]


def _codec_calls(tmp_path, fault: str | None = None):
    c = Capture()
    calls = []
    for n, (label, pts) in enumerate(OFFERS):
        marker = f"{TEST_ID}-{label}"
        calls.append([marker, pts])
        call = Call(c, n, marker)
        offer = (*pts, 101)
        if fault == "answer-pcma" and label == "pcmu":           # a transcoder answering in the other law
            call.setup(offer, dut_offer=(0, 8, 101), far_answer=(8, 101), answer=(8, 101))
            call.media(pt_ms=8, pt_far=8, to_ms=8, to_far=8)
        elif fault == "wire-pcma" and label == "pcmu":           # answer right, RTP in the other law
            call.setup(offer).media(to_ms=8)
        elif fault == "no-rtp" and label == "pcma":
            call.setup(offer).media(pt_ms=8, pt_far=8, to_ms=None, to_far=8)
        elif fault == "far-wire" and label == "both":            # PT 18 toward the far end, never negotiated
            call.setup(offer).media(to_far=18)
        else:
            call.setup(offer).media(pt_ms=pts[0], pt_far=pts[0], to_ms=pts[0], to_far=pts[0])
        call.bye()
    return checks.codecs_negotiated(_trace(c, tmp_path), spec=_spec(MS, FAR), calls=calls)


def test_three_offers_answered_in_subsets_with_the_right_pt_pass(tmp_path):
    found = _codec_calls(tmp_path)
    assert _bad(found) == [] and len(found) == 9, found
    assert "PCMA only offer" in found[3].message and "PT [8], 30 packets" in found[4].message


def test_answer_in_a_codec_never_offered_fails_med01(tmp_path):
    bad = _bad(_codec_calls(tmp_path, "answer-pcma"))
    assert [f.rule for f in bad] == ["MED-01"] and "PCMU only offer" in bad[0].message, bad
    assert "m=audio 40000 RTP/AVP 8 101 (8 never offered)" in bad[0].message and bad[0].frames, bad


def test_rtp_in_the_other_law_fails_med01_with_its_frame(tmp_path):
    bad = _bad(_codec_calls(tmp_path, "wire-pcma"))
    assert [f.rule for f in bad] == ["MED-01"] and "our caller (PCMU only call)" in bad[0].message, bad
    assert "PT [8] on the wire" in bad[0].message and "[8] not negotiated" in bad[0].message and bad[0].frames


def test_pt_never_negotiated_toward_the_far_end_fails_med01(tmp_path):
    bad = _bad(_codec_calls(tmp_path, "far-wire"))
    assert [f.rule for f in bad] == ["MED-01"] and "far callee (PCMU+PCMA call)" in bad[0].message, bad


def test_no_rtp_from_the_dut_fails_med01(tmp_path):
    bad = _bad(_codec_calls(tmp_path, "no-rtp"))
    assert [f.rule for f in bad] == ["MED-01"] and "0 RTP packets to" in bad[0].message, bad


# ---- TC-MED-05: the Mediation side withholds RTCP; the DUT's behaviour recorded (MED-05, I) -----------------------

def _withheld(tmp_path, seconds=6.0, rtcp_at=(2.0, 5.0), dut_bye_at=None, rtp_until=None, our_rtcp=False):
    """OUT call answered; the DUT's RTP to our caller (a packet per 100 ms) until ``rtp_until`` (default the end),
    its RTCP compounds at ``rtcp_at``; our caller's RTP without RTCP (``our_rtcp``: with one compound); at
    ``seconds`` our BYE, or at ``dut_bye_at`` the DUT's BYE to us first."""
    from sipqual.mediaagent import packets
    c = Capture()
    call = Call(c, 0, TEST_ID).setup()
    compound = packets.sender_report(0x77, 0, 1, 160, []) + packets.sdes_cname(0x77, "dut@sbc")
    end = dut_bye_at if dut_bye_at is not None else seconds
    rtp_until = end if rtp_until is None else rtp_until
    pending = sorted(rtcp_at)
    for i in range(int(end * 10)):
        t = i * 0.1
        while pending and pending[0] <= t:
            pending.pop(0)
            c._emit(Ether(src=MAC[DUT], dst=MAC[MS]) / IP(src=DUT, dst=MS, id=0) /
                    UDP(sport=call.dut_ms + 1, dport=call.ms_port + 1) / compound, 0.0001)
        if our_rtcp and i == 15:
            c._emit(Ether(src=MAC[MS], dst=MAC[DUT]) / IP(src=MS, dst=DUT, id=0) /
                    UDP(sport=call.ms_port + 1, dport=call.dut_ms + 1) / compound, 0.0001)
        for src, sport, dst, dport in ((MS, call.ms_port, DUT, call.dut_ms), (DUT, call.dut_ms, MS, call.ms_port)):
            if src == DUT and t > rtp_until:
                continue
            hdr = bytes([0x80, 0]) + (500 + i).to_bytes(2, "big") + (800 * i).to_bytes(4, "big") + \
                (0x77 if src == DUT else 0x55).to_bytes(4, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + b"\xd5" * 160), 0.1 if src == MS else 0.0001)
    if dut_bye_at is not None:
        call._req(DUT, MS, "BYE", call.a, 2, to_tag="fb")
    else:
        call.bye()
    return checks.rtcp_withheld(_trace(c, tmp_path), spec=_spec(MS, FAR), withheld_s=seconds)


def test_call_kept_with_the_dut_rtcp_going_on_is_recorded(tmp_path):
    found = _withheld(tmp_path)
    assert _bad(found) == [] and [f.severity for f in found] == ["I", "I"], found
    assert "our BYE ended it" in found[0].message and "2 compound(s)" in found[1].message
    assert "recorded only" in found[1].message


def test_dut_dropping_the_call_for_want_of_rtcp_is_flagged(tmp_path):
    bad = _bad(_withheld(tmp_path, dut_bye_at=4.0))
    assert [(f.rule, f.severity) for f in bad] == [("MED-05", "I")] and "a BYE from the DUT" in bad[0].message, bad
    assert bad[0].frames


def test_dut_rtp_stopping_is_flagged(tmp_path):
    bad = _bad(_withheld(tmp_path, rtp_until=2.5))
    assert [f.rule for f in bad] == ["MED-05"] and "its last packet 3.4 s before the call ended" in bad[0].message, bad


def test_dut_rtcp_silent_on_a_long_withholding_is_flagged(tmp_path):
    bad = _bad(_withheld(tmp_path, seconds=22.0, rtcp_at=(2.0, 5.0)))
    assert [f.rule for f in bad] == ["MED-05"] and "never silent over 10 s" in bad[0].message, bad
    assert "longest silence 17.0 s" in bad[0].message
    assert _bad(_withheld(tmp_path, seconds=22.0, rtcp_at=(2.0, 7.0, 12.0, 17.0))) == []


def test_rtcp_from_our_agent_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _withheld(tmp_path, our_rtcp=True)


# ---- TC-DTMF-04: asymmetric telephone-event PTs, each receiver's own (RFC4733-06) -----------------------------------

def _te_sdp(addr: str, port: int, te: int | None) -> str:
    lines = ["v=0", f"o=sq 1000 1 IN IP4 {addr}", "s=-", f"c=IN IP4 {addr}", "t=0 0",
             f"m=audio {port} RTP/AVP 0" + (f" {te}" if te else ""), "a=rtpmap:0 PCMU/8000"]
    lines += [f"a=rtpmap:{te} telephone-event/8000", f"a=fmtp:{te} 0-16"] if te else []
    return "\r\n".join(lines + ["a=sendrecv"]) + "\r\n"


def _ev(c: Capture, src: str, sport: int, dst: str, dport: int, codes, ssrc: int, pt: int):
    """RFC 4733 events on ``pt``, 100 ms each, the end packet three times."""
    seq = 0
    for n, code in enumerate(codes):
        for i, (end, dur) in enumerate([(False, 160 * (k + 1)) for k in range(5)] + [(True, 800)] * 3):
            hdr = bytes([0x80, (0x80 if i == 0 else 0) | pt]) + seq.to_bytes(2, "big") + \
                (8000 + 1600 * n).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + bytes([code, (0x80 if end else 0) | 10]) + dur.to_bytes(2, "big")), 0.02)
            seq += 1


def _asym(tmp_path, to_ms_pt=96, to_far_pt=101, dut_answer_te=101, ms_sends=True):
    """IN call: the far caller offers telephone-event 101, our Mediation-side callee answers 96. The far end sends
    2 6 # (PT 101, the DUT's answer's), the DUT relays them to us on ``to_ms_pt``; we send 1 5 9 on PT 101 (the
    DUT's offer's), the DUT relays them to the far end on ``to_far_pt``. ``dut_answer_te``: the telephone-event PT of
    the DUT's answer to the far caller (None: stripped)."""
    c = Capture()
    call = Call(c, 0, TEST_ID, caller=FAR, callee=MS)
    call.setup(_te_sdp(FAR, call.ms_port, 101), dut_offer=_te_sdp(DUT, call.dut_far, 101),
               far_answer=_te_sdp(MS, call.far_port, 96), answer=_te_sdp(DUT, call.dut_ms, dut_answer_te))
    call.media(packets=10)
    # names follow Call's OUT layout: ms_port/dut_ms face the caller (here the far end), far_port/dut_far the callee
    if dut_answer_te:
        _ev(c, FAR, call.ms_port, DUT, call.dut_ms, (2, 6, 11), 0x51, 101)
        _ev(c, DUT, call.dut_far, MS, call.far_port, (2, 6, 11), 0x52, to_ms_pt)
    if ms_sends:
        _ev(c, MS, call.far_port, DUT, call.dut_far, (1, 5, 9), 0x53, 101)
        _ev(c, DUT, call.dut_ms, FAR, call.ms_port, (1, 5, 9), 0x54, to_far_pt)
    call.bye()
    return checks.dtmf_asymmetric_pts(_trace(c, tmp_path), spec=_spec(FAR, MS), caller_digits="26#",
                                      callee_digits="159")


def test_events_on_each_receivers_pt_pass(tmp_path):
    found = _asym(tmp_path)
    assert _bad(found) == [] and len(found) == 2, found
    assert "on PT 96, the telephone-event PT" in found[0].message and ": 2 6 #" in found[0].message
    assert "on PT 101, the telephone-event PT" in found[1].message and ": 1 5 9" in found[1].message


def test_events_on_the_offerers_pt_instead_of_the_answerers_fail_rfc4733_06(tmp_path):
    bad = _bad(_asym(tmp_path, to_ms_pt=101))
    assert [f.rule for f in bad] == ["RFC4733-06"] and "on PT 96" in bad[0].message, bad
    assert "24 event packet(s) on PT 101 instead" in bad[0].message and bad[0].frames, bad


def test_events_on_the_answerers_pt_toward_the_offerer_fail_rfc4733_06(tmp_path):
    bad = _bad(_asym(tmp_path, to_far_pt=96))
    assert [f.rule for f in bad] == ["RFC4733-06"] and "on PT 96 instead" in bad[0].message, bad
    assert f"delivered to {FAR}" in bad[0].message


def test_telephone_event_stripped_from_the_dut_answer_fails_rfc4733_06(tmp_path):
    bad = _bad(_asym(tmp_path, dut_answer_te=None))
    assert [f.rule for f in bad] == ["RFC4733-06"] and "without telephone-event" in bad[0].message, bad
    assert "declared it on PT 96" in bad[0].message and bad[0].frames


def test_our_events_missing_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _asym(tmp_path, ms_sends=False)


# ---- TC-DTMF-06: a PIN to a conference / UM emulation, collected whole, once, in order (MED-03) --------------------

PIN = (1, 2, 3, 4, 11)


def _pin(tmp_path, heard="1234#", inband="", prompt=True, ours=PIN):
    """IN call (far caller -> DUT -> our IVR): our caller keys ``ours`` as events, the DUT relays 1234#; then the
    IVR's confirmation (``prompt``: 30 packets of the DUT's RTP to the caller after the PIN)."""
    c = Capture()
    call = Call(c, 0, TEST_ID, caller=FAR, callee=MS).setup((0, 101))
    call.media(packets=10)
    _ev(c, FAR, call.ms_port, DUT, call.dut_ms, ours, 0x61, 101)
    _ev(c, DUT, call.dut_far, MS, call.far_port, PIN, 0x62, 101)
    if prompt:
        _rtp(c, [(MS, call.far_port, DUT, call.dut_far, 0), (DUT, call.dut_ms, FAR, call.ms_port, 0)], 30, seq0=400)
    call.bye()
    return checks.pin_collected(_trace(c, tmp_path), spec=_spec(FAR, MS), pin="1234#", heard_events=heard,
                                heard_inband=inband)


def test_pin_collected_once_with_the_prompt_after_passes(tmp_path):
    found = _pin(tmp_path)
    assert _bad(found) == [] and len(found) == 2, found
    assert "it decoded 1 2 3 4 #" in found[0].message and len(found[0].frames) == 5
    assert "30 packets" in found[1].message


def test_a_digit_lost_on_the_way_fails_med03(tmp_path):
    bad = _bad(_pin(tmp_path, heard="124#"))
    assert [f.rule for f in bad] == ["MED-03"] and "it decoded 1 2 4 #" in bad[0].message and bad[0].frames, bad


def test_digits_doubled_by_tones_beside_the_events_fail_med03(tmp_path):
    bad = _bad(_pin(tmp_path, inband="1234#"))
    assert [f.rule for f in bad] == ["MED-03"] and "heard 1 2 3 4 # as tones" in bad[0].message, bad
    assert "10 digit(s) collected" in bad[0].message


def test_no_confirmation_reaching_the_caller_fails_med03(tmp_path):
    bad = _bad(_pin(tmp_path, prompt=False))
    assert [f.rule for f in bad] == ["MED-03"] and "0 RTP packet(s) from the DUT to the caller" in bad[0].message, bad


def test_our_pin_not_sent_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _pin(tmp_path, ours=(1, 2))
