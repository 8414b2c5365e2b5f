"""Suite DTMF (TC-DTMF-01/02, MED-03) on crafted captures: digits our agent sends as RFC 4733 events must come out
of the DUT on the other leg as RFC 4733 events, all and in order. The lab shows telephone-event stripped from the
DUT's SDP (faulty-dtmf-stripped, tests/test_lab.py); these prove the check's own failures: digits lost, none
relayed (with the receiving agent's in-band detection quoted), and our own digits missing (an ERROR)."""

from __future__ import annotations

import pytest

from test_checks_em import CALLER_PORT, DUT, DUT_TO_CALLEE, DUT_TO_CALLER, FAR, MS, WON_PORT, Legs, _bad, _events, \
    _spec

from sipqual import checks


def _call(tmp_path, sent=(1, 2, 11), relayed=(1, 2, 11), from_caller=True):
    """OUT call answered; then our agent on one side sends ``sent`` and the DUT passes ``relayed`` to the other."""
    call = Legs(MS, FAR).invite().answered("cb")
    if from_caller:
        _events(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, sent, 0x5157D7F0)
        _events(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, relayed, 0x77)
    else:
        _events(call.c, FAR, WON_PORT, DUT, DUT_TO_CALLEE, sent, 0x5157D7F0)
        _events(call.c, DUT, DUT_TO_CALLER, MS, CALLER_PORT, relayed, 0x77)
    return call.trace(tmp_path)


@pytest.mark.parametrize("from_caller", [True, False])
def test_digits_relayed_as_events_pass(tmp_path, from_caller):
    found = checks.dtmf_relayed(_call(tmp_path, from_caller=from_caller), spec=_spec(MS, FAR), digits="12#",
                                from_caller=from_caller)
    assert _bad(found) == [] and "1 2 # in PT 101" in found[0].message and len(found[0].frames) == 3, found


def test_a_lost_digit_fails_med03(tmp_path):
    bad = _bad(checks.dtmf_relayed(_call(tmp_path, relayed=(1, 11)), spec=_spec(MS, FAR), digits="12#",
                                   from_caller=True))
    assert [f.rule for f in bad] == ["MED-03"] and "observed only 1 #" in bad[0].message and bad[0].frames, bad


def test_digits_only_in_band_fail_med03_quoting_what_our_agent_heard(tmp_path):
    bad = _bad(checks.dtmf_relayed(_call(tmp_path, relayed=()), spec=_spec(MS, FAR), digits="12#",
                                   from_caller=True, heard_inband="12#"))
    assert [f.rule for f in bad] == ["MED-03"], bad
    assert "no telephone-event from the DUT" in bad[0].message and "PT [0] only" in bad[0].message
    assert "heard 1 2 # as tones in the audio" in bad[0].message and bad[0].frames


def test_reverse_direction_is_not_taken_for_the_relay(tmp_path):
    # events relayed to the caller do not count for digits the caller sent
    call = Legs(MS, FAR).invite().answered("cb")
    _events(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, (1, 2), 0x5157D7F0)
    _events(call.c, DUT, DUT_TO_CALLER, MS, CALLER_PORT, (1, 2), 0x77)
    bad = _bad(checks.dtmf_relayed(call.trace(tmp_path), spec=_spec(MS, FAR), digits="12", from_caller=True))
    assert [f.rule for f in bad] == ["MED-03"], bad


def test_our_digits_missing_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        checks.dtmf_relayed(_call(tmp_path, sent=(1,)), spec=_spec(MS, FAR), digits="12#", from_caller=True)


# ---- TC-DTMF-03: three end packets, a long press relayed as one growing event (RFC4733-03/04) ----------------------

def _event(c, src, sport, dst, dport, code, ts, seq0, updates, ends, ssrc, step=160, start_dur=160):
    """One RFC 4733 event (PT 101): ``updates`` packets growing by ``step``, then ``ends`` end packets."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import MAC
    seq = seq0
    final = start_dur + step * (updates - 1)
    for i, (end, dur) in enumerate([(False, start_dur + step * k) for k in range(updates)] + [(True, final)] * ends):
        hdr = bytes([0x80, (0x80 if i == 0 else 0) | 101]) + (seq & 0xFFFF).to_bytes(2, "big") + \
            ts.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
        body = bytes([code, (0x80 if end else 0) | 10]) + dur.to_bytes(2, "big")
        c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                (hdr + body), 0.02)
        seq += 1
    return seq


def _long_press(tmp_path, relay_ends=3, relay_updates=150, relay_step=160, split=False):
    """OUT call: our caller sends 5 (3 updates) then holds 0 for 3 s (150 updates); the DUT relays them with
    ``relay_ends`` end packets, the long one in ``relay_updates`` updates of ``relay_step`` (or split in two)."""
    call = Legs(MS, FAR).invite().answered("cb")
    seq = _event(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, 5, 8000, 0, 3, 3, 0x5157D7F0)
    _event(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, 0, 16000, seq, 150, 3, 0x5157D7F0)
    seq = _event(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, 5, 9000, 0, 3, relay_ends, 0x77)
    if split:
        seq = _event(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, 0, 17000, seq, 75, 3, 0x77)
        _event(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, 0, 29000, seq, 75, 3, 0x77)
    else:
        _event(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, 0, 17000, seq, relay_updates, relay_ends, 0x77,
               step=relay_step, start_dur=relay_step)
    return checks.dtmf_long_press(call.trace(tmp_path), spec=_spec(MS, FAR), digits="50", long_digit="0",
                                  from_caller=True)


def test_long_press_relayed_passes(tmp_path):
    found = _long_press(tmp_path)
    assert _bad(found) == [] and any("3.00 s in 150 updates + 3 end packet(s)" in f.message for f in found), found


def test_one_end_packet_fails_rfc4733_04(tmp_path):
    bad = _bad(_long_press(tmp_path, relay_ends=1))
    assert [f.rule for f in bad] == ["RFC4733-04"] and "with 1 end packet(s)" in bad[0].message and bad[0].frames


def test_long_press_cut_short_fails_rfc4733_03(tmp_path):
    bad = _bad(_long_press(tmp_path, relay_updates=50))
    assert [f.rule for f in bad] == ["RFC4733-03"] and "observed 1.00 s in 50 updates" in bad[0].message, bad


def test_long_press_without_updates_fails_rfc4733_03(tmp_path):
    bad = _bad(_long_press(tmp_path, relay_updates=6, relay_step=4000))     # 3 s in 6 packets: one per 500 ms
    assert [f.rule for f in bad] == ["RFC4733-03"] and "in 6 updates" in bad[0].message, bad


def test_long_press_split_in_two_events_fails_rfc4733_03(tmp_path):
    bad = _bad(_long_press(tmp_path, split=True))
    assert [f.rule for f in bad] == ["RFC4733-03"], bad


# ---- TC-MED-02: the DUT's RTP in 20 ms packets, timestamp +160 (MED-09) --------------------------------------------

def _timed_call(tmp_path, dut_to_callee_ms=20, dut_to_caller=True):
    """OUT call answered (Legs' own RTP: 20 ms both ways on both legs), then 40 more packets from the DUT to the
    callee of ``dut_to_callee_ms`` each (timestamp + 8 per ms) on a new SSRC; ``dut_to_caller``: False removes the
    DUT's RTP toward the caller (its answer's stream is then to another port)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import MAC
    call = Legs(MS, FAR).invite().answered("cb", rtp_port=None if dut_to_caller else WON_PORT)
    n = 8 * dut_to_callee_ms
    for i in range(40):
        hdr = bytes([0x80, 0]) + i.to_bytes(2, "big") + (n * i).to_bytes(4, "big") + (0x99).to_bytes(4, "big")
        call.c._emit(Ether(src=MAC[DUT], dst=MAC[FAR]) / IP(src=DUT, dst=FAR, id=0) /
                     UDP(sport=DUT_TO_CALLEE + 10, dport=WON_PORT) / (hdr + b"\xd5" * n), dut_to_callee_ms / 1000)
    return call.trace(tmp_path)


def test_twenty_ms_both_ways_passes(tmp_path):
    found = checks.dut_rtp_timing(_timed_call(tmp_path), spec=_spec(MS, FAR),
                                  agent_views={"caller": {"packets": 30, "lost": 0, "jitter_ms": 0.5}})
    assert _bad(found) == [] and len(found) == 2, found
    assert "20 ms packets, timestamp +160" in found[0].message and "our agent received 30" in found[0].message


def test_thirty_ms_packets_fail_med09(tmp_path):
    bad = _bad(checks.dut_rtp_timing(_timed_call(tmp_path, dut_to_callee_ms=30), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["MED-09"] and "30 ms packets, timestamp +240" in bad[0].message, bad
    assert "to our callee" in bad[0].message and bad[0].frames


def test_no_rtp_from_the_dut_fails_med09(tmp_path):
    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "200 OK", call.b, call.via_b, "1 INVITE", "Content-Type: application/sdp", tag="cb")
    bad = _bad(checks.dut_rtp_timing(call.trace(tmp_path), spec=_spec(MS, FAR)))
    assert [f.rule for f in bad] == ["MED-09", "MED-09"] and "observed 0 RTP packets" in bad[0].message, bad


# ---- TC-MED-04: the DUT's RTCP toward the Mediation side every 5-10 s (MED-05) -------------------------------------

def _rtcp_call(tmp_path, rtcp_at=(1.0, 5.5, 10.0, 14.5)):
    """OUT call answered, then 15 s of the DUT's RTP to the caller (a packet per 100 ms) with an RTCP compound
    (SR + SDES CNAME, built by the media agent's own packet builders) from the DUT at the offsets ``rtcp_at``."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from sipqual.mediaagent import packets
    from test_checks_em import MAC
    call = Legs(MS, FAR).invite().answered("cb")
    compound = packets.sender_report(0x77, 0, 1, 160, []) + packets.sdes_cname(0x77, "dut@sbc")
    pending = sorted(rtcp_at)
    for i in range(150):
        t = i * 0.1
        while pending and pending[0] <= t:
            pending.pop(0)
            call.c._emit(Ether(src=MAC[DUT], dst=MAC[MS]) / IP(src=DUT, dst=MS, id=0) /
                         UDP(sport=DUT_TO_CALLER + 1, dport=CALLER_PORT + 1) / compound, 0.0001)
        hdr = bytes([0x80, 0]) + (500 + i).to_bytes(2, "big") + (800 * i).to_bytes(4, "big") + (0x77).to_bytes(4, "big")
        call.c._emit(Ether(src=MAC[DUT], dst=MAC[MS]) / IP(src=DUT, dst=MS, id=0) /
                     UDP(sport=DUT_TO_CALLER, dport=CALLER_PORT) / (hdr + b"\xd5" * 160), 0.1)
    return checks.dut_rtcp(call.trace(tmp_path), spec=_spec(MS, FAR))


def test_rtcp_every_five_seconds_passes(tmp_path):
    found = _rtcp_call(tmp_path)
    assert _bad(found) == [] and "4 compound(s)" in found[0].message and "SR x4, SDES x4" in found[0].message, found


def test_no_rtcp_fails_med05(tmp_path):
    bad = _bad(_rtcp_call(tmp_path, rtcp_at=()))
    assert [f.rule for f in bad] == ["MED-05"] and "no RTCP in" in bad[0].message and bad[0].frames, bad


def test_rtcp_twelve_seconds_apart_fails_med05(tmp_path):
    bad = _bad(_rtcp_call(tmp_path, rtcp_at=(1.0, 13.5)))
    assert [f.rule for f in bad] == ["MED-05"] and "between two compounds" in bad[0].message, bad


# ---- TC-DTMF-05: no DTMF tone in the audio beside the events (RFC4733-05) ------------------------------------------

def test_no_tones_beside_events_passes(tmp_path):
    found = checks.no_inband_duplicates(_call(tmp_path), spec=_spec(MS, FAR), digits="12#", from_caller=True,
                                        heard=[])
    assert _bad(found) == [] and "3 events, no tone in" in found[0].message, found


def test_tones_beside_events_fail_rfc4733_05(tmp_path):
    tr = _call(tmp_path)
    start = max((s for s in tr.rtp if s.src == DUT and s.dst == FAR), key=lambda s: s.packets).first_time
    bad = _bad(checks.no_inband_duplicates(tr, spec=_spec(MS, FAR), digits="12#", from_caller=True,
                                           heard=[["1", start + 0.5], ["2", start + 0.7]]))
    assert [f.rule for f in bad] == ["RFC4733-05"] and "2 tone(s) in the audio" in bad[0].message, bad
    assert "1 at +0.50 s, 2 at +0.70 s" in bad[0].message and "beside 3 RFC 4733 events" in bad[0].message


def test_no_events_from_us_is_an_error_not_a_duplicate(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        checks.no_inband_duplicates(_call(tmp_path, sent=()), spec=_spec(MS, FAR), digits="12#", from_caller=True,
                                    heard=[["1", 0.0]])


# ---- TC-MED-03: comfort noise negotiated and passed on (MED-04) ----------------------------------------------------

def _cn_sdp(addr, port, cn=True):
    from test_checks_em import sdp
    text = sdp(1, addr, port, pts=(0, 101))
    return text.replace(" 0 101\r\n", " 0 101 13\r\n") + "a=rtpmap:13 CN/8000\r\n" if cn else text


def _cn_call(tmp_path, relay_cn=True, dut_offer_cn=True):
    """OUT call offering CN both ways; each side sends 10 PCMU packets, 3 CN packets, 10 PCMU; the DUT relays each
    side's packets to the other (CN as CN unless not ``relay_cn``); its offer to the callee keeps CN unless not
    ``dut_offer_cn``."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import CT, MAC
    call = Legs(MS, FAR)
    call.req(MS, DUT, "INVITE", call.a, call.via_a, 1, f"{checks.MARKER}: TC-EM-X-tcp-abc", CT,
             body=_cn_sdp(MS, CALLER_PORT))
    call.req(DUT, FAR, "INVITE", call.b, call.via_b, 1, CT, body=_cn_sdp(DUT, DUT_TO_CALLEE, cn=dut_offer_cn))
    call.resp(FAR, DUT, "200 OK", call.b, call.via_b, "1 INVITE", tag="cb", body=_cn_sdp(FAR, WON_PORT))
    call.resp(DUT, MS, "200 OK", call.a, call.via_a, "1 INVITE", tag="cb", body=_cn_sdp(DUT, DUT_TO_CALLER))
    flows = [(MS, CALLER_PORT, DUT, DUT_TO_CALLER, True), (DUT, DUT_TO_CALLEE, FAR, WON_PORT, relay_cn),
             (FAR, WON_PORT, DUT, DUT_TO_CALLEE, True), (DUT, DUT_TO_CALLER, MS, CALLER_PORT, relay_cn)]
    for i in range(23):
        cn = 10 <= i < 13
        for n, (src, sport, dst, dport, send_cn) in enumerate(flows):
            if cn and not send_cn:
                continue
            pt, body = (13, b"\x40") if cn else (0, b"\xd5" * 160)
            hdr = bytes([0x80, pt]) + i.to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                (0x100 + n).to_bytes(4, "big")
            call.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                         UDP(sport=sport, dport=dport) / (hdr + body), 0.02 if n == 0 else 0.0001)
    return checks.comfort_noise_relayed(call.trace(tmp_path), spec=_spec(MS, FAR))


def test_cn_passed_on_both_ways_passes(tmp_path):
    found = _cn_call(tmp_path)
    assert _bad(found) == [] and len(found) == 2 and "3 CN packets" in found[0].message, found


def test_cn_dropped_by_the_dut_fails_med04(tmp_path):
    bad = _bad(_cn_call(tmp_path, relay_cn=False))
    assert [f.rule for f in bad] == ["MED-04", "MED-04"] and "no CN from the DUT to" in bad[0].message, bad
    assert "PT [0]" in bad[0].message and bad[0].frames


def test_cn_stripped_from_the_dut_offer_fails_med04(tmp_path):
    bad = _bad(_cn_call(tmp_path, dut_offer_cn=False))
    assert bad and bad[0].rule == "MED-04" and "without CN" in bad[0].message, bad


# ---- TC-MED-06: media address = signalling address toward the Mediation side (MED-06) ------------------------------

def _addr_call(tmp_path, conn=None):
    """OUT call whose 200 to our caller names ``conn`` (default: the DUT's own address) as c=; RTP both ways."""
    from test_checks_em import CT, _rtp, sdp
    call = Legs(MS, FAR).invite()
    call.resp(FAR, DUT, "200 OK", call.b, call.via_b, "1 INVITE", tag="cb", body=sdp(1, FAR, WON_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "200 OK", call.a, call.via_a, "1 INVITE", CT, tag="cb",
              body=sdp(1, DUT, DUT_TO_CALLER, pts=(0, 101), conn=conn))
    _rtp(call.c, [(MS, CALLER_PORT, DUT, DUT_TO_CALLER), (DUT, DUT_TO_CALLER, MS, CALLER_PORT)])
    return checks.media_at_signalling_address(call.trace(tmp_path), spec=_spec(MS, FAR))


def test_media_at_the_signalling_address_passes(tmp_path):
    found = _addr_call(tmp_path)
    assert _bad(found) == [] and f"c={DUT}, SIP from {DUT}, RTP to our agent from {DUT}" in found[0].message, found


def test_media_elsewhere_fails_med06(tmp_path):
    bad = _bad(_addr_call(tmp_path, conn="192.0.2.99"))
    assert [f.rule for f in bad] == ["MED-06"] and f"c=192.0.2.99, SIP from {DUT}" in bad[0].message, bad
    assert bad[0].frames


# ---- TC-MED-09: latching on the source of our RTP (MED-07) ---------------------------------------------------------

NAT_PORT = 31000


def _nat_call(tmp_path, latch_after: int | None):
    """OUT call: our caller's SDP says CALLER_PORT, its RTP comes from NAT_PORT (100 packets, 20 ms); the DUT sends
    to CALLER_PORT, switching to NAT_PORT after ``latch_after`` of our packets (never when None)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import MAC
    call = Legs(MS, FAR).invite().answered("cb")
    for i in range(100):
        for n, (src, sport, dst, dport) in enumerate([
                (MS, NAT_PORT, DUT, DUT_TO_CALLER),
                (DUT, DUT_TO_CALLER, MS, NAT_PORT if latch_after is not None and i >= latch_after else CALLER_PORT)]):
            hdr = bytes([0x80, 0]) + (1000 + i).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
                (0x300 + n).to_bytes(4, "big")
            call.c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) /
                         UDP(sport=sport, dport=dport) / (hdr + b"\xd5" * 160), 0.02 if n == 0 else 0.0001)
    return checks.rtp_latched(call.trace(tmp_path), spec=_spec(MS, FAR), sdp_port=CALLER_PORT, source_port=NAT_PORT)


def test_latched_at_once_passes(tmp_path):
    found = _nat_call(tmp_path, latch_after=1)
    assert _bad(found) == [] and f"RTP to {NAT_PORT} from +0.0" in found[0].message, found


def test_latched_after_a_second_and_a_half_fails_med07(tmp_path):
    bad = _bad(_nat_call(tmp_path, latch_after=70))
    assert [f.rule for f in bad] == ["MED-07"] and f"RTP to {NAT_PORT} from +1.4" in bad[0].message, bad


# ---- TC-MED-08: the DUT follows a re-INVITE moving our media within 1 s (XFR-02) -----------------------------------

NEW_PORT = 30100


def _retarget(tmp_path, follow_after: float | None):
    """OUT call answered; our caller re-INVITEs moving its media to NEW_PORT, the DUT answers 200; the DUT's RTP
    (100 packets, 20 ms, from the 200 on) goes to the old port until ``follow_after`` s, then to NEW_PORT (never
    when None)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import CT, MAC, sdp
    call = Legs(MS, FAR).invite().answered("cb")
    via = f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-re1"
    call.req(MS, DUT, "INVITE", call.a, via, 2, f"{checks.MARKER}: TC-EM-X-tcp-abc", CT, to_tag="cb",
             body=sdp(2, MS, NEW_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "200 OK", call.a, via, "2 INVITE", tag="cb", body=sdp(2, DUT, DUT_TO_CALLER, pts=(0, 101)))
    for i in range(100):
        port = NEW_PORT if follow_after is not None and i * 0.02 >= follow_after else CALLER_PORT
        hdr = bytes([0x80, 0]) + (2000 + i).to_bytes(2, "big") + (160 * i).to_bytes(4, "big") + \
            (0x55).to_bytes(4, "big")
        call.c._emit(Ether(src=MAC[DUT], dst=MAC[MS]) / IP(src=DUT, dst=MS, id=0) /
                     UDP(sport=DUT_TO_CALLER, dport=port) / (hdr + b"\xd5" * 160), 0.02)
    return checks.media_retargeted(call.trace(tmp_path), spec=_spec(MS, FAR), old_port=CALLER_PORT,
                                   new_port=NEW_PORT)


def test_media_follows_at_once_passes(tmp_path):
    found = _retarget(tmp_path, follow_after=0.0)
    assert _bad(found) == [] and f"RTP to {NEW_PORT} from +0.0" in found[0].message, found


def test_media_following_late_fails_xfr02(tmp_path):
    bad = _bad(_retarget(tmp_path, follow_after=1.4))
    assert [f.rule for f in bad] == ["XFR-02"] and f"RTP to {NEW_PORT} from +1.4" in bad[0].message, bad


def test_media_never_following_fails_xfr02(tmp_path):
    bad = _bad(_retarget(tmp_path, follow_after=None))
    assert [f.rule for f in bad] == ["XFR-02"] and f"to {CALLER_PORT} until +" in bad[0].message, bad


# ---- TC-MED-07: re-INVITE with unchanged SDP, answer unchanged, no glitch (RFC3264-04, SIG-06) ---------------------

def _unchanged(tmp_path, version=1, port=DUT_TO_CALLER, pause_s=0.0):
    """OUT call answered (the DUT's answer: version 1, port DUT_TO_CALLER); our caller re-INVITEs with its SDP
    unchanged; the DUT answers with ``version``/``port``; its RTP to us: 1 s before, a ``pause_s`` gap, 1 s after."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    from test_checks_em import CT, MAC, sdp
    call = Legs(MS, FAR).invite().answered("cb")
    seq = [3000]

    def rtp(n):
        for _ in range(n):
            hdr = bytes([0x80, 0]) + seq[0].to_bytes(2, "big") + (160 * seq[0]).to_bytes(4, "big") + \
                (0x66).to_bytes(4, "big")
            call.c._emit(Ether(src=MAC[DUT], dst=MAC[MS]) / IP(src=DUT, dst=MS, id=0) /
                         UDP(sport=DUT_TO_CALLER, dport=CALLER_PORT) / (hdr + b"\xd5" * 160), 0.02)
            seq[0] += 1
    rtp(50)
    via = f"Via: SIP/2.0/UDP {MS}:5060;branch=z9hG4bK-re2"
    call.req(MS, DUT, "INVITE", call.a, via, 2, f"{checks.MARKER}: TC-EM-X-tcp-abc", CT, to_tag="cb",
             body=sdp(1, MS, CALLER_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "200 OK", call.a, via, "2 INVITE", tag="cb", body=sdp(version, DUT, port, pts=(0, 101)))
    if pause_s:
        call.c._emit(Ether(src=MAC[MS], dst=MAC[DUT]) / IP(src=MS, dst=DUT, id=0) / UDP(sport=9, dport=9) / b"x",
                     pause_s)
    rtp(50)
    return checks.reinvite_unchanged(call.trace(tmp_path), spec=_spec(MS, FAR))


def test_unchanged_reinvite_answered_unchanged_passes(tmp_path):
    found = _unchanged(tmp_path)
    assert _bad(found) == [] and len(found) == 2, found


def test_version_bumped_without_change_fails_rfc3264_04(tmp_path):
    bad = _bad(_unchanged(tmp_path, version=2))
    assert [f.rule for f in bad] == ["RFC3264-04"] and "o= version 1 -> 2" in bad[0].message, bad


def test_port_changed_fails_rfc3264_04(tmp_path):
    bad = _bad(_unchanged(tmp_path, port=DUT_TO_CALLER + 100))
    assert [f.rule for f in bad] == ["RFC3264-04"] and f"m= port {DUT_TO_CALLER} -> " in bad[0].message, bad


def test_media_pause_at_the_reinvite_fails_sig06(tmp_path):
    bad = _bad(_unchanged(tmp_path, pause_s=0.5))
    assert [f.rule for f in bad] == ["SIG-06"] and "no packet in the window" in bad[0].message, bad
