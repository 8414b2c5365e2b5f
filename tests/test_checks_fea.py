"""Suites FEA, E911 and FAX on crafted captures: a good call passes each check, and each DUT fault the cases must
catch FAILs it with the right rule and frame. The lab shows three faults end to end (tests/test_lab.py: the
simultaneous-ring leg's CANCEL not passed on, T.38 accepted by the DUT itself, the PIDF-LO altered); these prove the
rest: a DTMF digit lost, relayed without its end packet or cut short; the call history dropped on a forwarded call;
the PIDF-LO dropped or its Geolocation reference lost; G.711 sent to the refused T.38 port or the call torn down after
the refusal; a T.38 offer from the DUT on a fax call in G.711; the escalated call's media not moved."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MAC, MS, sdp  # noqa: E402
from test_checks_em import CALLED, CALLER_PORT, CT, DUT_TO_CALLEE, DUT_TO_CALLER, TEST_ID, WON_PORT, Legs, _rtp  # noqa: E402,E501
from test_checks_hld import PORT as HLD_PORT  # noqa: E402
from test_checks_hld import HoldCall  # noqa: E402
from test_checks_hld import _spec as hld_spec  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.fea import body_parts  # noqa: E402

DIVERTER, ORIGINAL = "+14255550199", "+15550001000"


def _spec(caller: str, callee: str) -> checks.CallSpec:
    return checks.CallSpec(TEST_ID, caller_ip=caller, callee_ip=callee, dut_in_ip=DUT, dut_out_ip=DUT, called=CALLED)


def _bad(found):
    return [f for f in found if not f.ok]


# ---- TC-FEA-04 / TC-FEA-06: DTMF after the answer (MED-03) ---------------------------------------------------------

def _dtmf(c, src, sport, dst, dport, codes, ssrc, end=True, dur=800):
    """RFC 4733 events (PT 101): per digit growing durations up to ``dur``, then (``end``) the end packet three
    times."""
    seq = 0
    for n, code in enumerate(codes):
        steps = [(False, dur * (k + 1) // 5) for k in range(5)] + ([(True, dur)] * 3 if end else [])
        for i, (e, d) in enumerate(steps):
            hdr = bytes([0x80, (0x80 if i == 0 else 0) | 101]) + seq.to_bytes(2, "big") + \
                (8000 + 1600 * n).to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            body = bytes([code, (0x80 if e else 0) | 10]) + d.to_bytes(2, "big")
            c._emit(Ether(src=MAC[src], dst=MAC[dst]) / IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport) /
                    (hdr + body), 0.02)
            seq += 1


def _dtmf_call(tmp_path, relayed=(2, 5, 8, 0, 11), end=True, dur=800, ours=(2, 5, 8, 0, 11)):
    """IN call (far caller -> DUT -> Mediation side) answered; the caller keys ``ours``; the DUT relays
    ``relayed`` to the callee (with end packets when ``end``, durations up to ``dur``)."""
    call = Legs(FAR, MS).invite().answered("t1")
    _dtmf(call.c, FAR, CALLER_PORT, DUT, DUT_TO_CALLER, ours, 0x5157D7F0)
    _dtmf(call.c, DUT, DUT_TO_CALLEE, MS, WON_PORT, relayed, 0x77, end=end, dur=dur)
    return checks.ivr_digits(call.trace(tmp_path), spec=_spec(FAR, MS), digits="2580#")


def test_pin_relayed_with_end_packets_and_durations_passes(tmp_path):
    found = _dtmf_call(tmp_path)
    assert _bad(found) == [], _bad(found)
    assert {f.rule for f in found} == {"MED-03", "RFC4733-END", "RFC4733-DURATION"}
    assert any("2 5 8 0 # in PT 101" in f.message for f in found)


def test_a_lost_digit_fails_med03(tmp_path):
    bad = _bad(_dtmf_call(tmp_path, relayed=(2, 5, 0, 11)))
    assert bad[0].rule == "MED-03" and "observed only 2 5 0 #" in bad[0].message and bad[0].frames


def test_digits_without_end_packet_fail(tmp_path):
    bad = _bad(_dtmf_call(tmp_path, end=False))
    assert [f.rule for f in bad] == ["RFC4733-END"] and "without one" in bad[0].message and bad[0].frames


def test_digits_cut_short_fail(tmp_path):
    bad = _bad(_dtmf_call(tmp_path, dur=240))
    assert [f.rule for f in bad] == ["RFC4733-DURATION"] and "duration 240 (we sent 800" in bad[0].message


def test_no_dtmf_from_our_caller_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _dtmf_call(tmp_path, ours=(2, 5))


# ---- TC-FEA-01 / TC-FEA-02: call history on the call back out to the PSTN (ID-02) ------------------------------------

HI = (f"History-Info: <sip:{DIVERTER}@ms1.lab.example;user=phone>;index=1",
      f"History-Info: <sip:{CALLED}@sbc.lab.example;user=phone>;index=1.1;mp=1")
DIVERSION = f"Diversion: <sip:{DIVERTER}@ms1.lab.example;user=phone>;reason=unconditional;counter=1"


def _out_call(ours=HI, relayed=HI, body_ours=None, body_relayed=None, ctype=CT, extra_ours=(), extra_relayed=(),
              answer=True):
    """OUT call (Mediation side -> DUT -> far end): our INVITE with the headers ``ours`` (and ``extra_ours``), the
    DUT's with ``relayed``; bodies SDP unless given (then with Content-Type ``ctype``)."""
    call = Legs(MS, FAR)
    call.a = ("Call-ID: leg-a@x", f"From: <sip:{ORIGINAL}@x>;tag=ca", f"To: <sip:{CALLED}@sbc.lab.example>")
    call.b = ("Call-ID: leg-b@x", f"From: <sip:{ORIGINAL}@sbc.lab.example>;tag=db", f"To: <sip:{CALLED}@y>")
    call.req(MS, DUT, "INVITE", call.a, call.via_a, 1, f"{checks.MARKER}: {TEST_ID}", *ours, *extra_ours,
             ctype if body_ours else CT, body=body_ours or sdp(1, MS, CALLER_PORT, pts=(0, 101)))
    call.resp(DUT, MS, "100 Trying", call.a, call.via_a, "1 INVITE")
    call.req(DUT, FAR, "INVITE", call.b, call.via_b, 1, *relayed, *extra_relayed, ctype if body_relayed else CT,
             body=body_relayed or sdp(1, DUT, DUT_TO_CALLEE, pts=(0, 101)))
    call.resp(FAR, DUT, "100 Trying", call.b, call.via_b, "1 INVITE")
    if answer:
        call.answered("t1")
    return call


def _history(tmp_path, **kw):
    tr = _out_call(**kw).trace(tmp_path)
    return checks.call_history_passed(tr, spec=_spec(MS, FAR), diverter=DIVERTER, caller=ORIGINAL)


def test_history_info_passed_on_passes(tmp_path):
    found = _history(tmp_path)
    assert _bad(found) == [], _bad(found)
    assert any(f.rule == "ID-02" and f.ok and f"History-Info: <sip:{DIVERTER}" in f.message for f in found)
    assert any(f.rule == "NUM-05" and "the original caller" in f.message for f in found)


def test_history_mapped_to_diversion_passes(tmp_path):
    found = _history(tmp_path, relayed=(DIVERSION,))
    assert _bad(found) == [] and any(f.rule == "ID-02" and "Diversion:" in f.message for f in found)


def test_call_history_dropped_fails_id02(tmp_path):
    bad = _bad(_history(tmp_path, relayed=()))
    assert [f.rule for f in bad] == ["ID-02"] and "observed neither header" in bad[0].message and bad[0].frames


def test_forwarded_call_refused_for_its_history_fails(tmp_path):
    call = _out_call(answer=False)
    call.resp(DUT, MS, "420 Bad Extension", call.a, call.via_a, "1 INVITE", tag="x")
    tr = call.trace(tmp_path)
    bad = _bad(checks.call_history_passed(tr, spec=_spec(MS, FAR), diverter=DIVERTER, caller=ORIGINAL))
    assert bad[0].rule == "ID-02" and "420 Bad Extension" in bad[0].message


def test_our_missing_history_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        _history(tmp_path, ours=(), relayed=())


# ---- TC-E911-01: PIDF-LO passed byte for byte (E911-01) -------------------------------------------------------------

PIDF = ('<?xml version="1.0" encoding="UTF-8"?>\r\n<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'entity="pres:a@lab.example">\r\n<tuple id="t"><status><gp:geopriv><gp:location-info><ca:civicAddress>'
        '<ca:HNO>1</ca:HNO></ca:civicAddress></gp:location-info></gp:geopriv></status></tuple>\r\n</presence>')
MP = "Content-Type: multipart/mixed;boundary=\"bnd\""
GEO = ("Geolocation: <cid:loc%40x@lab.example>", "Geolocation-Routing: yes")


def _multipart(sdp_body: str, pidf: str | None = PIDF, cid: str = "loc@x@lab.example", preamble: str = "") -> str:
    parts = [f"--bnd\r\nContent-Type: application/sdp\r\n\r\n{sdp_body}"]
    if pidf is not None:
        parts.append(f"--bnd\r\nContent-Type: application/pidf+xml\r\nContent-ID: <{cid}>\r\n\r\n{pidf}")
    return preamble + "\r\n".join(parts) + "\r\n--bnd--\r\n"


def _e911(tmp_path, relayed_pidf=PIDF, relayed_geo=GEO, cid="loc@x@lab.example"):
    call = _out_call(ours=GEO, relayed=relayed_geo, ctype=MP,
                     body_ours=_multipart(sdp(1, MS, CALLER_PORT, pts=(0, 101))),
                     body_relayed=_multipart(sdp(1, DUT, DUT_TO_CALLEE, pts=(0, 101)), relayed_pidf, cid,
                                             preamble="This is a multipart message.\r\n"))
    return checks.pidf_unchanged(call.trace(tmp_path), spec=_spec(MS, FAR))


def test_pidf_passed_byte_for_byte_passes(tmp_path):
    found = _e911(tmp_path)
    assert _bad(found) == [], _bad(found)
    assert any(f.rule == "E911-01" and f"byte for byte ({len(PIDF)} bytes)" in f.message for f in found)


def test_pidf_altered_fails_e911(tmp_path):
    bad = _bad(_e911(tmp_path, relayed_pidf=PIDF.replace("<ca:HNO>1", "<ca:HNO>2")))
    assert [f.rule for f in bad] == ["E911-01"] and "first difference at byte" in bad[0].message


def test_pidf_dropped_fails_e911(tmp_path):
    bad = _bad(_e911(tmp_path, relayed_pidf=None))
    assert bad[0].rule == "E911-01" and "application/sdp" in bad[0].message and bad[0].frames


def test_geolocation_dropped_fails(tmp_path):
    bad = _bad(_e911(tmp_path, relayed_geo=()))
    assert {f.rule for f in bad} == {"E911-GEOLOCATION"} and "Geolocation absent" in bad[0].message


def test_body_parts_reads_rfc2046_multipart(tmp_path):
    call = _out_call(ours=GEO, relayed=GEO, ctype=MP, body_ours=_multipart("v=0\r\n", preamble="pre\r\n"))
    tr = call.trace(tmp_path)
    ours = next(p for p in tr.sip if p.msg.get(checks.MARKER) == TEST_ID)
    parts = body_parts(ours)
    assert [h["content-type"] for h, _ in parts] == ["application/sdp", "application/pidf+xml"]
    assert parts[1][1] == PIDF.encode() and parts[0][1] == b"v=0\r\n"


# ---- TC-FAX-01: T.38 re-INVITE refused, the call stays G.711 (FAX-01) --------------------------------------------------

T38 = ("v=0\r\no=sq 1000 2 IN IP4 {a}\r\ns=-\r\nc=IN IP4 {a}\r\nt=0 0\r\nm=image {p} udptl t38\r\n"
       "a=T38FaxVersion:0\r\n")


def _fax(tmp_path, fault=None):
    """IN call (far fax gateway -> DUT -> Mediation side) answered; the caller's T.38 re-INVITE; the DUT passes it on
    and the Mediation side refuses it 488 (``fault``: "accepted": the DUT answers 200 with T.38 itself; "switched":
    afterwards the DUT sends the Mediation side's G.711 to the refused T.38 port; "torn": the DUT hangs up the
    Mediation leg after the refusal); then 1 s of RTP and the caller's BYE."""
    call = Legs(FAR, MS).invite()
    call.resp(MS, DUT, "200 OK", call.b, call.via_b, "1 INVITE", tag="t1", body=sdp(1, MS, WON_PORT, pts=(0, 101)))
    call.req(DUT, MS, "ACK", call.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b2", 1, to_tag="t1")
    call.resp(DUT, FAR, "200 OK", call.a, call.via_a, "1 INVITE", tag="t1", body=sdp(1, DUT, DUT_TO_CALLER,
                                                                                       pts=(0, 101)))
    call.req(FAR, DUT, "ACK", call.a, f"Via: SIP/2.0/UDP {FAR}:5060;branch=z9hG4bK-a2", 1, to_tag="t1")
    flows = [(FAR, CALLER_PORT, DUT, DUT_TO_CALLER), (DUT, DUT_TO_CALLER, FAR, CALLER_PORT),
             (MS, WON_PORT, DUT, DUT_TO_CALLEE), (DUT, DUT_TO_CALLEE, MS, WON_PORT)]
    _rtp(call.c, flows, packets=20)
    via_a = f"Via: SIP/2.0/UDP {FAR}:5060;branch=z9hG4bK-a3"
    via_b = f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b3"
    call.req(FAR, DUT, "INVITE", call.a, via_a, 2, CT, to_tag="t1", body=T38.format(a=FAR, p=CALLER_PORT + 4))
    if fault == "accepted":
        call.resp(DUT, FAR, "200 OK", call.a, via_a, "2 INVITE", tag="t1", body=T38.format(a=DUT, p=39990))
    else:
        call.req(DUT, MS, "INVITE", call.b, via_b, 2, CT, to_tag="t1", body=T38.format(a=DUT, p=40010))
        call.resp(MS, DUT, "488 Not Acceptable Here", call.b, via_b, "2 INVITE", tag="t1")
        call.req(DUT, MS, "ACK", call.b, via_b, 2, to_tag="t1")
        call.resp(DUT, FAR, "488 Not Acceptable Here", call.a, via_a, "2 INVITE", tag="t1")
    call.req(FAR, DUT, "ACK", call.a, via_a, 2, to_tag="t1")
    if fault == "torn":
        call.req(DUT, MS, "BYE", call.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-b9", 3, to_tag="t1")
    if fault == "switched":
        flows[1] = (DUT, DUT_TO_CALLER, FAR, CALLER_PORT + 4)
    _rtp(call.c, flows, packets=50, first_seq=100)
    via = f"Via: SIP/2.0/UDP {FAR}:5060;branch=z9hG4bK-bye"
    call.req(FAR, DUT, "BYE", call.a, via, 3, to_tag="t1")
    call.resp(DUT, FAR, "200 OK", call.a, via, "3 BYE", tag="t1")
    return checks.t38_refused(call.trace(tmp_path), spec=_spec(FAR, MS))


def test_t38_refused_and_g711_kept_passes(tmp_path):
    found = _fax(tmp_path)
    assert _bad(found) == [], _bad(found)
    assert [f.rule for f in found] == ["FAX-01", "FAX-01-MEDIA", "FAX-01-MEDIA"]
    assert "488 Not Acceptable Here to the caller; the Mediation side answered 488" in found[0].message


def test_t38_accepted_by_the_dut_fails_fax01(tmp_path):
    bad = _bad(_fax(tmp_path, "accepted"))
    assert bad[0].rule == "FAX-01" and "200 accepting m=image" in bad[0].message
    assert "never passed on to the Mediation side" in bad[0].message and len(bad[0].frames) == 2


def test_g711_sent_to_the_refused_t38_port_fails(tmp_path):
    bad = _bad(_fax(tmp_path, "switched"))
    assert [f.rule for f in bad] == ["FAX-01-MEDIA"]
    assert f"{FAR}:{CALLER_PORT}" in bad[0].message and f"to port {CALLER_PORT + 4} instead" in bad[0].message


def test_call_torn_down_after_the_refusal_fails(tmp_path):
    bad = _bad(_fax(tmp_path, "torn"))
    assert bad[0].rule == "FAX-01" and f"a BYE from the DUT to {MS}" in bad[0].message


# ---- TC-FAX-02: fax in G.711 pass-through --------------------------------------------------------------------------

def test_fax_call_kept_in_g711_passes_and_a_t38_offer_fails(tmp_path):
    call = Legs(MS, FAR).invite().answered("t1")
    (tmp_path / "a").mkdir()
    assert _bad(checks.g711_passthrough(call.trace(tmp_path / "a"), spec=_spec(MS, FAR))) == []
    call.req(DUT, FAR, "INVITE", call.b, f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-t38", 3, CT, to_tag="t1",
             body=T38.format(a=DUT, p=40010))
    (tmp_path / "b").mkdir()
    bad = _bad(checks.g711_passthrough(call.trace(tmp_path / "b"), spec=_spec(MS, FAR)))
    assert bad[0].rule == "FAX-01" and "an INVITE offering T.38" in bad[0].message and bad[0].frames


# ---- TC-FEA-05: escalation to a conference by re-INVITE (XFR-02) -----------------------------------------------------

def _escalation(tmp_path, **retrieve):
    tr = HoldCall(MS, FAR).call().reinvite("sendonly").reinvite("sendrecv", port=HLD_PORT["caller"] + 2,
                                                                  **retrieve).hangup().trace(tmp_path)
    return checks.conference_escalation(tr, spec=hld_spec(MS, FAR))


def test_escalation_media_moved_passes(tmp_path):
    found = _escalation(tmp_path)
    assert _bad(found) == [] and any(f.rule == "XFR-02" and f.ok and "moved to the conference" in f.message
                                     for f in found)


def test_escalation_media_not_moved_fails_xfr02(tmp_path):
    bad = _bad(_escalation(tmp_path, dut_follows=False))
    assert {f.rule for f in bad} == {"HLD-06", "XFR-02"} and any(f.rule == "XFR-02" and f.frames for f in bad)
