"""Each passive rule and each active check, shown holding on a good message and failing on a crafted bad one."""

import pytest

from sipqual import checks, rules
from sipqual.sipmsg import parse_message
from sipqual.trace import SipPacket, Trace

DUT, MS, FAR = "192.0.2.1", "192.0.2.10", "198.51.100.10"

INVITE = (
    "INVITE sip:+15550002000@198.51.100.10:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.1:5066;branch=z9hG4bK-abc\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:+14255550100@ms1.lab.example>;tag=f1\r\n"
    "To: <sip:+15550002000@sbc.lab.example>\r\n"
    "Call-ID: c1@lab\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:gw@192.0.2.1:5066;transport=tcp>\r\n"
    "Content-Length: 0\r\n\r\n")


def pkt(text, src=DUT, dst=FAR, transport="TCP", frame=1, t=0.0):
    return SipPacket(frame, t, None, src, dst, 5066, 5060, transport, parse_message(text.encode()))


def rules_hit(text, **kw):
    return {f.rule for f in rules.run_passive(Trace(path=None, sip=[pkt(text, **kw)]), {DUT})}


def test_good_invite_passes_every_rule():
    assert rules_hit(INVITE) == set()


@pytest.mark.parametrize("mutation, rule", [
    (lambda m: m.replace("Max-Forwards: 70\r\n", ""), "RFC3261-01"),
    (lambda m: m.replace(";tag=f1", ""), "RFC3261-02"),
    (lambda m: m.replace("z9hG4bK-abc", "abc"), "RFC3261-03"),
    (lambda m: m.replace("CSeq: 1 INVITE", "CSeq: 1 BYE"), "RFC3261-05"),
    (lambda m: m.replace("CSeq: 1 INVITE", "CSeq: 2147483648 INVITE"), "RFC3261-05"),
    (lambda m: m.replace("Contact: <sip:gw@192.0.2.1:5066;transport=tcp>\r\n", ""), "RFC3261-06"),
    (lambda m: m.replace("Content-Length: 0\r\n", ""), "RFC3261-17"),
    (lambda m: m.replace("Content-Length: 0", "Content-Length: 12"), "RFC3261-17"),
])
def test_each_rule_catches_its_fault(mutation, rule):
    assert rule in rules_hit(mutation(INVITE))


def test_content_length_may_be_absent_on_udp():
    assert "RFC3261-17" not in rules_hit(INVITE.replace("Content-Length: 0\r\n", ""), transport="UDP")


def test_compact_forms_satisfy_the_rules():
    compact = (INVITE.replace("Via:", "v:").replace("From:", "f:").replace("To:", "t:").replace("Call-ID:", "i:")
               .replace("Contact:", "m:").replace("Content-Length:", "l:"))
    assert rules_hit(compact) == set()


RESPONSE = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ms1;received=192.0.2.10\r\n"
    "From: <sip:+14255550100@ms1.lab.example>;tag=m1\r\n"
    "To: <sip:+15550002000@sbc.lab.example>;tag=d1\r\n"
    "Call-ID: ms-call@lab\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:gw@192.0.2.1:5066;transport=tcp>\r\n"
    "Content-Length: 0\r\n\r\n")
REQUEST = (
    "INVITE sip:+15550002000@sbc.lab.example SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ms1\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:+14255550100@ms1.lab.example>;tag=m1\r\n"
    "To: <sip:+15550002000@sbc.lab.example>\r\n"
    "Call-ID: ms-call@lab\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:ms@192.0.2.10:15060;transport=tcp>\r\n"
    "Content-Length: 0\r\n\r\n")


def copies(response):
    tr = Trace(path=None, sip=[pkt(REQUEST, src=MS, dst=DUT, frame=1), pkt(response, src=DUT, dst=MS, frame=2)])
    return [f for f in rules.run_passive(tr, {DUT}) if f.rule == "RFC3261-08"]


def test_response_copies_request_even_with_received_added():
    assert copies(RESPONSE) == []


@pytest.mark.parametrize("bad", [
    RESPONSE.replace("CSeq: 1 INVITE", "CSeq: 4242 INVITE"),
    RESPONSE.replace("tag=m1", "tag=zz"),
    RESPONSE.replace("Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ms1;received=192.0.2.10\r\n",
                     "Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ms1\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKx\r\n"),
])
def test_response_copy_violations(bad):
    found = copies(bad)
    assert found and "frame 2" in found[0].message


def test_branch_reuse_across_transactions():
    bye = INVITE.replace("INVITE sip", "BYE sip").replace("CSeq: 1 INVITE", "CSeq: 2 BYE")
    tr = Trace(path=None, sip=[pkt(INVITE, frame=1), pkt(bye, frame=2)])
    assert any("reused" in f.message for f in rules.run_passive(tr, {DUT}))


def test_options_check_fails_without_answer_and_passes_with_200():
    opt = REQUEST.replace("INVITE sip:+15550002000@sbc.lab.example", "OPTIONS sip:sbc.lab.example") \
        .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS") + ""
    opt = opt.replace("Content-Length: 0", "X-Sipqual-Test: T1\r\nContent-Length: 0")
    req = pkt(opt, src=MS, dst=DUT, frame=1)
    tr = Trace(path=None, sip=[req])
    found = checks.options_answered(tr, test_id="T1", our_ip=MS, dut_ip=DUT)
    assert [f.rule for f in found if not f.ok] == ["OPT-01"] and "no response" in found[0].message
    ok = RESPONSE.replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS").replace("Content-Length: 0",
                                                                     "Allow: INVITE\r\nContent-Length: 0")
    tr.sip.append(pkt(ok, src=DUT, dst=MS, frame=2, t=0.01))
    found = checks.options_answered(tr, test_id="T1", our_ip=MS, dut_ip=DUT)
    assert [f.rule for f in found if not f.ok] == ["OPT-02"]  # no Supported header


def test_number_matching_tolerates_format_changes():
    assert checks.number_matches("+15550002000", "+15550002000")
    assert checks.number_matches("15550002000", "+15550002000")
    assert checks.number_matches("0015550002000", "+15550002000")
    assert not checks.number_matches("+15550009999", "+15550002000")
    assert not checks.number_matches(None, "+15550002000")


# ---- rules whose fixtures show one fault; the other paths of the same rule --------------------------------------

REQUEST_100REL = REQUEST.replace("Content-Length: 0", "Supported: 100rel\r\nContent-Length: 0")


def reliable(status: int, rseq: str, tag: str = "d1") -> str:
    reason = {180: "Ringing", 183: "Session Progress"}[status]
    return (RESPONSE.replace("200 OK", f"{status} {reason}").replace("tag=d1", f"tag={tag}")
            .replace("Content-Length: 0", f"Require: 100rel\r\nRSeq: {rseq}\r\nContent-Length: 0"))


def outcomes(rule, *messages):
    """Every outcome of ``rule`` on a capture of (text, src, dst) messages, held ones included."""
    sip = [pkt(text, src=src, dst=dst, frame=i + 1, t=i * 0.1) for i, (text, src, dst) in enumerate(messages)]
    return [f for f in rules.run_all(Trace(path=None, sip=sip), {DUT}) if f.rule == rule]


def test_rseq_grows_by_one_per_new_reliable_response_and_repeats_on_retransmission():
    good = outcomes("RFC3262-02", (REQUEST_100REL, MS, DUT), (reliable(180, "7"), DUT, MS),
                    (reliable(180, "7"), DUT, MS), (reliable(183, "8"), DUT, MS))
    assert [f.ok for f in good] == [True, True]            # the retransmission is not a new response
    bad = outcomes("RFC3262-02", (REQUEST_100REL, MS, DUT), (reliable(180, "7"), DUT, MS),
                   (reliable(183, "9"), DUT, MS))
    assert [f.ok for f in bad] == [True, False] and "expected RSeq 8" in bad[1].message and "(frame 3)" in \
        bad[1].message


def test_rseq_spaces_are_per_early_dialog():
    found = outcomes("RFC3262-02", (REQUEST_100REL, MS, DUT), (reliable(180, "7", "a"), DUT, MS),
                     (reliable(180, "500", "b"), DUT, MS), (reliable(183, "8", "a"), DUT, MS))
    assert [f.ok for f in found] == [True, True, True]


def test_rseq_of_responses_the_dut_received_is_not_judged():
    assert outcomes("RFC3262-02", (REQUEST_100REL.replace("z9hG4bK-ms1", "z9hG4bK-x"), DUT, MS),
                    (reliable(180, "0"), MS, DUT)) == []


def test_allow_is_judged_only_when_the_dut_uses_update():
    allow = RESPONSE.replace("Content-Length: 0", "Allow: INVITE, ACK, BYE\r\nContent-Length: 0")
    assert outcomes("RFC3311-03", (REQUEST, MS, DUT), (allow, DUT, MS)) == []
    update = (REQUEST.replace("INVITE sip:+15550002000@sbc.lab.example", "UPDATE sip:ms@192.0.2.10")
              .replace("CSeq: 1 INVITE", "CSeq: 2 UPDATE").replace("z9hG4bK-ms1", "z9hG4bK-u1"))
    found = outcomes("RFC3311-03", (REQUEST, MS, DUT), (allow, DUT, MS), (update, DUT, MS))
    assert [f.ok for f in found] == [False] and "observed Allow: INVITE, ACK, BYE" in found[0].message
    compact = allow.replace("Allow: INVITE, ACK, BYE", "allow: INVITE\r\nALLOW: bye, Update")
    assert [f.ok for f in outcomes("RFC3311-03", (REQUEST, MS, DUT), (compact, DUT, MS), (update, DUT, MS))] == [True]


def with_sdp(message: str, *media_lines: str) -> str:
    body = "v=0\r\no=x 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" + \
        "".join(line + "\r\n" for line in media_lines)
    return message.replace("Content-Length: 0\r\n\r\n", f"Content-Type: application/sdp\r\nContent-Length: "
                                                         f"{len(body)}\r\n\r\n{body}")


TE = ("a=rtpmap:101 telephone-event/8000",)
MED03 = "MED-03 (Lync profile)"


@pytest.mark.parametrize("offer, answer, verdicts", [
    (("m=audio 4000 RTP/AVP 0 101", *TE), ("m=audio 5000 RTP/AVP 0 101", *TE), [True]),        # fmtp absent: 0-15
    (("m=audio 4000 RTP/AVP 0 101", *TE), ("m=audio 5000 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000",
                                           "a=fmtp:96 0-11,12-16"), [True]),                    # its own PT
    (("m=audio 4000 RTP/AVP 0 101", *TE), ("m=audio 5000 RTP/AVP 0 101", *TE, "a=fmtp:101 0-11"), [False]),
    (("m=audio 4000 RTP/AVP 0 101", *TE), ("m=audio 5000 RTP/AVP 0",), [False]),
    (("m=audio 4000 RTP/AVP 0",), ("m=audio 5000 RTP/AVP 0",), []),         # not offered: the answer is not judged
    (("m=audio 4000 RTP/AVP 0 101", *TE), ("m=audio 0 RTP/AVP 0",), []),    # stream refused
])
def test_telephone_event_in_the_dut_answer(offer, answer, verdicts):
    found = outcomes(MED03, (with_sdp(REQUEST, *offer), MS, DUT), (with_sdp(RESPONSE, *answer), DUT, MS))
    assert [f.ok for f in found] == verdicts


def test_telephone_event_in_the_dut_offer():
    offer = with_sdp(INVITE, "m=audio 4000 RTP/AVP 0 8", "m=video 4002 RTP/AVP 96", "a=rtpmap:96 H264/90000")
    via = "192.0.2.10:15060;branch=z9hG4bK-ms1;received=192.0.2.10"
    ringing = (RESPONSE.replace("200 OK", "180 Ringing").replace(via, "192.0.2.1:5066;branch=z9hG4bK-abc")
               .replace("tag=m1", "tag=f1").replace("ms-call@lab", "c1@lab"))
    found = outcomes(MED03, (offer, DUT, FAR), (ringing, FAR, DUT))
    assert [f.ok for f in found] == [False] and "offered m= line 1" in found[0].message
    assert found[0].requirements[0] == "MED-03" and found[0].message.startswith("MED-03 (Lync profile): expected")


def test_lync_profile_rules_apply_only_when_asked():
    offer = with_sdp(INVITE, "m=audio 4000 RTP/AVP 0 8")
    via = "192.0.2.10:15060;branch=z9hG4bK-ms1;received=192.0.2.10"
    ringing = (RESPONSE.replace("200 OK", "180 Ringing").replace(via, "192.0.2.1:5066;branch=z9hG4bK-abc")
               .replace("tag=m1", "tag=f1").replace("ms-call@lab", "c1@lab"))
    sip = [pkt(offer, src=DUT, dst=FAR), pkt(ringing, src=FAR, dst=DUT, frame=2, t=0.1)]
    assert MED03 in {f.rule for f in rules.run_passive(Trace(path=None, sip=sip), {DUT})}      # live: both profiles
    rfc_only = rules.run_all(Trace(path=None, sip=sip), {DUT}, profiles=rules.RFC_ONLY)
    assert rfc_only and not any(f.rule.startswith("MED-03") for f in rfc_only)
    assert {r.profile for r in rules.REGISTRY.values()} == {"rfc", "lync"}
    assert all(r.id.startswith("RFC") for r in rules.REGISTRY.values() if r.profile == "rfc")


@pytest.mark.parametrize("fmtp, ok", [
    (None, True), ("0-15", True), ("0-16", True), ("0-11,12-15", True), ("0-15,300", False), ("15-0", False),
    ("0-15,x", False),
])
def test_telephone_event_grammar_is_the_rfc_half(fmtp, ok):
    answer = ("m=audio 5000 RTP/AVP 0 101", *TE, *((f"a=fmtp:101 {fmtp}",) if fmtp else ()))
    found = outcomes("RFC4733-01", (with_sdp(REQUEST, "m=audio 4000 RTP/AVP 0"), MS, DUT),
                     (with_sdp(RESPONSE, *answer), DUT, MS))
    assert [f.ok for f in found] == [ok]
    assert outcomes("RFC4733-01", (with_sdp(RESPONSE, "m=audio 5000 RTP/AVP 0"), DUT, MS)) == []   # not listed


# ---- RFC 3261 sections 13.3.1.4 and 18.2.1, RFC 4028 section 10, RFC 3515, RFC 3891 -----------------------------

def timed(rule, *messages, dut=DUT):
    """Every outcome of ``rule`` on (text, src, dst, time) messages, held ones included."""
    sip = [pkt(text, src=src, dst=dst, frame=i + 1, t=t) for i, (text, src, dst, t) in enumerate(messages)]
    return [f for f in rules.run_all(Trace(path=None, sip=sip), {dut}) if f.rule == rule]


ACK = (REQUEST.replace("INVITE sip:+15550002000@sbc.lab.example", "ACK sip:gw@192.0.2.1:5066;transport=tcp")
       .replace("CSeq: 1 INVITE", "CSeq: 1 ACK").replace("branch=z9hG4bK-ms1", "branch=z9hG4bK-ms-ack")
       .replace("sbc.lab.example>\r\n", "sbc.lab.example>;tag=d1\r\n"))
BYE = ("BYE sip:ms@192.0.2.10:15060;transport=tcp SIP/2.0\r\n"
       "Via: SIP/2.0/TCP 192.0.2.1:5066;branch=z9hG4bK-bye\r\n"
       "Max-Forwards: 70\r\n"
       "From: <sip:+15550002000@sbc.lab.example>;tag=d1\r\n"
       "To: <sip:+14255550100@ms1.lab.example>;tag=m1\r\n"
       "Call-ID: ms-call@lab\r\n"
       "CSeq: 1 BYE\r\n"
       "Content-Length: 0\r\n\r\n")
OTHER = REQUEST.replace("INVITE sip:+15550002000@sbc.lab.example", "OPTIONS sip:sbc.lab.example") \
    .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS").replace("ms-call@lab", "other@lab").replace("z9hG4bK-ms1", "z9hG4bK-o")
SCHEDULE = [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]     # T1, 2T1, 4T1, then T2 until 64*T1


def retransmitted(times, *extra):
    return [(REQUEST, MS, DUT, -0.1)] + [(RESPONSE, DUT, MS, t) for t in times] + list(extra)


def test_2xx_retransmission_judged_only_when_the_dut_retransmits():
    assert timed("RFC3261-11", *retransmitted([0], (ACK, MS, DUT, 0.1))) == []


def test_2xx_retransmission_stops_at_the_ack():
    found = timed("RFC3261-11", *retransmitted([0, 0.5, 1.6], (ACK, MS, DUT, 0.8)))
    assert [f.ok for f in found] == [True, False] and "after the ACK (frame 5)" in found[1].message \
        and "(frame 4)" in found[1].message


def test_2xx_retransmission_schedule_then_bye_over_tcp():
    found = timed("RFC3261-11", *retransmitted(SCHEDULE, (BYE, DUT, MS, 33.0)))
    assert all(f.ok for f in found) and len(found) == len(SCHEDULE) and "BYE within" in found[-1].message
    found = timed("RFC3261-11", *retransmitted(SCHEDULE, (OTHER, MS, DUT, 60.0)))
    assert [f.ok for f in found][-1] is False and "observed none" in found[-1].message
    assert [f.ok for f in timed("RFC3261-11", *retransmitted(SCHEDULE))] == [True] * (len(SCHEDULE) - 1)


def test_2xx_retransmission_after_64_t1_and_off_schedule():
    found = timed("RFC3261-11", *retransmitted(SCHEDULE + [35.5], (BYE, DUT, MS, 36.0)))
    assert [f.ok for f in found][-2:] == [False, True] and "after 64*T1" in found[-2].message
    found = timed("RFC3261-11", *retransmitted([0, 0.5, 0.7]))
    assert [f.ok for f in found] == [True, False] and "observed 0.20 s" in found[1].message


def test_2xx_resent_for_a_retransmitted_invite_is_not_timed():
    found = timed("RFC3261-11", *retransmitted([0, 0.5, 0.7], (REQUEST, MS, DUT, 0.6), (ACK, MS, DUT, 0.8)))
    assert [f.ok for f in found] == [True, True]


MS_VIA = "Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ms1"


@pytest.mark.parametrize("sent_by, src, received, verdicts", [
    ("192.0.2.10:15060", MS, None, []),                                  # sent-by is the source: nothing to add
    ("[2001:db8:0:0::10]:15060", "2001:db8::10", None, []),              # the same IPv6 address, other notation
    ("[2001:db8::99]:15060", "2001:db8::10", "2001:db8::10", [True]),
    ("[2001:db8::99]:15060", "2001:db8::10", "[2001:db8:0::10]", [True]),
    ("[2001:db8::99]:15060", "2001:db8::10", None, [False]),
    ("ms1.lab.example:15060", MS, "192.0.2.10", [True]),                 # a host name always needs received
    ("ms1.lab.example", MS, None, [False]),
    ("203.0.113.7:15060", MS, "203.0.113.7", [False]),
])
def test_received_when_sent_by_differs_from_the_source(sent_by, src, received, verdicts):
    via = f"Via: SIP/2.0/TCP {sent_by};branch=z9hG4bK-ms1"
    response = RESPONSE.replace(f"{MS_VIA};received=192.0.2.10",
                                via + (f";received={received}" if received else ""))
    found = timed("RFC3261-19", (REQUEST.replace(MS_VIA, via), src, DUT, 0), (response, DUT, src, 0.01))
    assert [f.ok for f in found] == verdicts


def session_2xx(refresher: str) -> str:
    return RESPONSE.replace("Content-Length: 0", f"Session-Expires: 90;refresher={refresher}\r\nContent-Length: 0")


REINVITE = (REQUEST.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE").replace("z9hG4bK-ms1", "z9hG4bK-ms2")
            .replace("sbc.lab.example>\r\n", "sbc.lab.example>;tag=d1\r\n"))


@pytest.mark.parametrize("refresher, extra, verdicts", [
    ("uac", [(BYE, DUT, MS, 70)], [True]),              # the peer (refresher) never refreshed; the DUT hung up
    ("uac", [(BYE, DUT, MS, 100)], [False]),            # ... only after the session expired (+90 s)
    ("uac", [(OTHER, MS, DUT, 120)], [False]),          # ... never, while the capture runs on
    ("uac", [(OTHER, MS, DUT, 80)], []),                # the capture ends before the expiry
    ("uac", [(REINVITE, MS, DUT, 40), (OTHER, MS, DUT, 200)], []),   # refreshed by the peer (no new timer in a 2xx)
    ("uas", [(OTHER, MS, DUT, 50)], []),                # the capture ends before the refresher's deadline
    ("uas", [(OTHER, MS, DUT, 60)], [False]),
    ("uas", [(BYE, DUT, MS, 30)], []),                  # the session ended before a refresh was due
])
def test_session_refresh_both_roles(refresher, extra, verdicts):
    found = timed("RFC4028-04", (REQUEST, MS, DUT, -0.1), (session_2xx(refresher), DUT, MS, 0), *extra)
    assert [f.ok for f in found] == verdicts, [f.message for f in found]


def test_session_refresh_judges_both_ends_when_every_sender_is_judged():
    """The Mediation side (refresher=uac) never refreshed, the DUT hung up in time: in `sipqual verify` without a DUT
    both are judged, each in its own role (before, only the refresher was)."""
    msgs = [(REQUEST, MS, DUT, -0.1), (session_2xx("uac"), DUT, MS, 0), (BYE, DUT, MS, 70)]
    sip = [pkt(text, src=src, dst=dst, frame=i + 1, t=t) for i, (text, src, dst, t) in enumerate(msgs)]
    found = [f for f in rules.run_all(Trace(path=None, sip=sip), {DUT, MS}, every_sender=True)
             if f.rule == "RFC4028-04"]
    assert [f.ok for f in found] == [True, False], [f.message for f in found]
    assert "BYE from the DUT before the session expires" in found[0].message and "refresh" in found[1].message


REFER = ("REFER sip:gw@192.0.2.1:5066;transport=tcp SIP/2.0\r\n"
         "Via: SIP/2.0/TCP 192.0.2.10:15060;branch=z9hG4bK-ref{n}\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:+14255550100@ms1.lab.example>;tag=m1\r\n"
         "To: <sip:+15550002000@sbc.lab.example>;tag=d1\r\n"
         "Call-ID: ms-call@lab\r\n"
         "CSeq: {n} REFER\r\n"
         "Refer-To: <sip:+15550003000@far.example>\r\n"
         "Content-Length: 0\r\n\r\n")


def notify(*headers: str, body: str = "SIP/2.0 200 OK\r\n") -> str:
    return ("NOTIFY sip:ms@192.0.2.10:15060;transport=tcp SIP/2.0\r\n"
            "Via: SIP/2.0/TCP 192.0.2.1:5066;branch=z9hG4bK-ntf\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:+15550002000@sbc.lab.example>;tag=d1\r\n"
            "To: <sip:+14255550100@ms1.lab.example>;tag=m1\r\n"
            "Call-ID: ms-call@lab\r\n"
            "CSeq: 5 NOTIFY\r\n" + "".join(h + "\r\n" for h in headers) +
            f"Content-Length: {len(body)}\r\n\r\n{body}")


FRAG = "Content-Type: message/sipfrag"


@pytest.mark.parametrize("refers, headers, body, verdicts", [
    (1, ("o: refer", "Subscription-State: terminated", FRAG), "SIP/2.0 200 OK\r\n", [True, True, True]),
    (2, ("Event: refer;id=3", "Subscription-State: active", FRAG), "SIP/2.0 180 Ringing\r\n", [True, True, True]),
    (2, ("Event: refer", "Subscription-State: active", FRAG), "SIP/2.0 180 Ringing\r\n", [False, True, True]),
    (1, ("Event: refer", FRAG), "SIP/2.0 100 Trying\r\n", [True, False, True]),
    (1, ("Event: refer", "Subscription-State: active", FRAG), "100 Trying\r\n", [True, True, False]),
    (1, ("Event: refer", "Subscription-State: active", "c: text/plain"), "SIP/2.0 100 Trying\r\n",
     [True, True, False]),
    (1, ("Subscription-State: active", FRAG), "SIP/2.0 100 Trying\r\n", [False, True, True]),   # no Event at all
    (1, ("Event: dialog", "Subscription-State: active", "c: application/dialog-info+xml"), "<x/>", []),
    (0, ("Event: refer", "Subscription-State: active", FRAG), "SIP/2.0 100 Trying\r\n", [True, True, True]),
    (0, ("Subscription-State: active", FRAG), "SIP/2.0 100 Trying\r\n", []),  # no REFER, no Event: refer
])
def test_refer_notify(refers, headers, body, verdicts):
    found = timed("RFC3515-02", *[(REFER.format(n=n), MS, DUT, n) for n in range(2, 2 + refers)],
                  (notify(*headers, body=body), DUT, MS, 10))
    assert [f.ok for f in found] == verdicts, [f.message for f in found]


def dut_refer(*headers: str) -> str:
    return (REFER.format(n=7).replace("Via: SIP/2.0/TCP 192.0.2.10:15060", "Via: SIP/2.0/TCP 192.0.2.1:5066")
            .replace("Refer-To: <sip:+15550003000@far.example>\r\n", "".join(h + "\r\n" for h in headers)))


@pytest.mark.parametrize("headers, verdicts", [
    (("Refer-To: sip:+15550003000@far.example",), [True, True]),
    (('r: "Bob" <sip:+15550003000@far.example>',), [True, True]),
    (("r: <sip:a@far.example>, <sip:b@far.example>",), [False]),
    ((), [False]),
    (("Refer-To: bob",), [True, False]),
])
def test_refer_to(headers, verdicts):
    assert [f.ok for f in timed("RFC3515-01", (dut_refer(*headers), DUT, MS, 0))] == verdicts


@pytest.mark.parametrize("value, ok", [
    ("a@b;to-tag=1;from-tag=2;early-only", True),
    ("a@b;from-tag=2;to-tag=1;x=y", True),
    ("a@b;to-tag=1;to-tag=3;from-tag=2", False),
    ("a b;to-tag=1;from-tag=2", False),
    ("a@b;to-tag=;from-tag=2", False),
    ("a@b;to-tag=1;from-tag=2;early-only=yes", False),
])
def test_replaces_grammar(value, ok):
    invite = INVITE.replace("Content-Length: 0", f"Replaces: {value}\r\nContent-Length: 0")
    assert [f.ok for f in timed("RFC3891-01", (invite, DUT, FAR, 0))] == [ok]
    escaped = value.replace("@", "%40").replace(";", "%3B").replace("=", "%3D").replace(" ", "%20")
    refer = dut_refer(f"Refer-To: <sip:x@far.example?Replaces={escaped}>")
    assert [f.ok for f in timed("RFC3891-01", (refer, DUT, MS, 0))] == [ok]


def test_two_replaces_headers():
    invite = INVITE.replace("Content-Length: 0", "Replaces: a@b;to-tag=1;from-tag=2\r\nReplaces: c@d;to-tag=3;"
                                                 "from-tag=4\r\nContent-Length: 0")
    assert [f.ok for f in timed("RFC3891-01", (invite, DUT, FAR, 0))] == [False, True, True]
