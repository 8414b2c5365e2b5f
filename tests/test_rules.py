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
