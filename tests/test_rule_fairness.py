"""Issue 10 items 4, 8 and 10 (rules half): relays are judged as relays, URIs by RFC 3261 19.1.4, severities by
impact on a Mediation Server, every sender judged when ``sipqual verify`` has no DUT, and option tags checked."""

from pathlib import Path

import pytest

from sipqual import rules
from sipqual.sipmsg import parse_message
from sipqual.trace import SipPacket, Trace, read_trace
from sipqual.verify import verify_capture

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sip"
DUT, DUT_FAR, MS, FAR = "192.0.2.1", "198.51.100.1", "192.0.2.10", "198.51.100.10"
SHARED = next((p for p in (Path(__file__).resolve().parents[i] / "shared" / "captures" for i in (2, 3)) if p.is_dir()),
              None)
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared/captures is not beside this checkout")


def of(findings, rule):
    return [f for f in findings if f.rule == rule]


def fixture(name, dut, **kw):
    return rules.run_all(read_trace(FIXTURES / f"{name}.pcapng"), dut, **kw)


# ---- item 4: Max-Forwards on relayed requests ---------------------------------------------------------------------

def test_an_sbc_with_an_address_per_side_relays_with_a_decrement():
    found = of(fixture("good-relay", {DUT, DUT_FAR}), "RFC3261-04")
    assert found and all(f.ok for f in found), [f.message for f in found if not f.ok]
    relayed = [f for f in found if "relayed from the INVITE of frame 1" in f.message]
    assert relayed and 3 in relayed[0].frames                  # the INVITE on the far leg, MF 69 after 70
    assert any("BYE relayed" in f.message for f in found)      # the in-dialog BYE of the paired call
    assert any("OPTIONS the DUT originates" in f.message for f in found)


def test_a_relay_that_does_not_decrement_is_the_finding():
    bad = [f for f in of(fixture("fail-RFC3261-04-relay", {DUT, DUT_FAR}), "RFC3261-04") if not f.ok]
    assert len(bad) == 1 and bad[0].frames == [3] and bad[0].severity == "R"
    assert "at most 69 in a INVITE relayed from the INVITE of frame 1 (Max-Forwards 70), observed '70'" in \
        bad[0].message


def pkt(text, src, dst, frame, t):
    return SipPacket(frame, t, None, src, dst, 5060, 5060, "UDP", parse_message(text.encode()))


PROXIED = ("INVITE sip:+15550002000@far.example SIP/2.0\r\n{vias}Max-Forwards: {mf}\r\n"
           "From: <sip:+14255550100@ms1.lab.example>;tag=m1\r\nTo: <sip:+15550002000@far.example>\r\n"
           "Call-ID: px@lab\r\nCSeq: 1 INVITE\r\nContact: <sip:ms@192.0.2.10>\r\nContent-Length: 0\r\n\r\n")
MS_VIA = "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-ms\r\n"
DUT_VIA = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-px\r\n"


@pytest.mark.parametrize("mf, ok", [(69, True), (68, True), (70, False)])
def test_a_proxy_relay_is_judged_by_its_decrement(mf, ok):
    sip = [pkt(PROXIED.format(vias=MS_VIA, mf=70), MS, DUT, 1, 0.0),
           pkt(PROXIED.format(vias=DUT_VIA + MS_VIA, mf=mf), DUT, FAR, 2, 0.01)]
    found = of(rules.run_all(Trace(path=None, sip=sip), {DUT}), "RFC3261-04")
    assert [f.ok for f in found] == [ok] and "relayed from the INVITE of frame 1" in found[0].message


def test_a_proxy_cancel_and_ack_for_a_non_2xx_follow_their_invite():
    """Kamailio as the reference DUT: its own CANCEL and ACK for the 487 carry one Via and the relayed INVITE's 69."""
    invite = PROXIED.format(vias=DUT_VIA + MS_VIA, mf=69)
    cancel = (PROXIED.format(vias=DUT_VIA, mf=69).replace("INVITE sip:", "CANCEL sip:")
              .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL"))
    ack = cancel.replace("CANCEL sip:", "ACK sip:").replace("CSeq: 1 CANCEL", "CSeq: 1 ACK") \
        .replace("far.example>\r\n", "far.example>;tag=t9\r\n")
    sip = [pkt(PROXIED.format(vias=MS_VIA, mf=70), MS, DUT, 1, 0.0), pkt(invite, DUT, FAR, 2, 0.01),
           pkt(cancel, DUT, FAR, 3, 1.0), pkt(ack, DUT, FAR, 4, 1.1)]
    found = of(rules.run_all(Trace(path=None, sip=sip), {DUT}), "RFC3261-04")
    assert [f.ok for f in found] == [True, True, True] and "CANCEL relayed from the INVITE of frame 1" in \
        found[1].message
    alone = [pkt(invite.replace(DUT_VIA + MS_VIA, DUT_VIA), DUT, FAR, 1, 0.0), pkt(cancel, DUT, FAR, 2, 1.0)]
    found = of(rules.run_all(Trace(path=None, sip=alone), {DUT}), "RFC3261-04")   # originated: 70 for both
    assert [f.ok for f in found] == [False, False] and "CANCEL the DUT originates" in found[1].message


def test_the_same_request_mirrored_to_another_address_is_no_relay():
    """A tap that copies a request to the next hop (same Via list) shows no decrement to judge."""
    sip = [pkt(PROXIED.format(vias=MS_VIA, mf=70), "203.0.113.9", DUT, 1, 0.0),
           pkt(PROXIED.format(vias=MS_VIA, mf=70), DUT, FAR, 2, 0.01)]
    found = of(rules.run_all(Trace(path=None, sip=sip), {DUT}), "RFC3261-04")
    assert [f.ok for f in found] == [True] and "originates" in found[0].message


# ---- item 4: URI equality and severities by impact ----------------------------------------------------------------

OPTIONS = ("OPTIONS sip:sbc.lab.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-o1\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:ms1.lab.example:5060>;tag=o1\r\nTo: <sip:sbc.lab.example>\r\n"
           "Call-ID: opt@lab\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
OK = ("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-o1\r\n"
      "From: <sip:ms1.lab.example:5060>;tag=o1\r\nTo: <sip:sbc.lab.example>;tag=d1\r\n"
      "Call-ID: opt@lab\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("from_, severity", [
    ('From: "Mediation" <sip:MS1.LAB.EXAMPLE:5060;lr>;tag=o1', None),     # equal under 19.1.4: no finding
    ("From: <sip:ms1.lab.example>;tag=o1", "R"),                          # the port lost: letter only
    ("From: <sip:ms1.lab.example:5060>;tag=zz", "M"),                     # the tag changed: dialogs break
])
def test_a_from_copy_is_compared_as_a_uri_and_judged_by_impact(from_, severity):
    sip = [pkt(OPTIONS, MS, DUT, 1, 0.0), pkt(OK.replace("From: <sip:ms1.lab.example:5060>;tag=o1", from_), DUT, MS,
                                              2, 0.01)]
    bad = [f for f in of(rules.run_all(Trace(path=None, sip=sip), {DUT}), "RFC3261-08") if not f.ok]
    assert [f.severity for f in bad] == ([severity] if severity else [])
    if severity == "R":          # both values quoted
        assert "<sip:ms1.lab.example:5060>" in bad[0].message and "<sip:ms1.lab.example>;tag=o1" in bad[0].message


def test_only_mandatory_findings_fail_a_case():
    from sipqual.verdict import capture_failures

    sip = [pkt(OPTIONS, MS, DUT, 1, 0.0), pkt(OK.replace(":5060>;tag=o1", ">;tag=o1"), DUT, MS, 2, 0.01)]
    passive = rules.run_passive(Trace(path=None, sip=sip), {DUT})
    assert of(passive, "RFC3261-08") and capture_failures([], passive) == []


# ---- item 8: every sender judged (sipqual verify without a DUT) ---------------------------------------------------

def test_a_missing_ack_is_found_when_every_sender_is_judged():
    trace = read_trace(FIXTURES / "fail-RFC3261-10-noack.pcapng")
    senders = {p.src for p in trace.sip}
    bad = [f for f in of(rules.run_all(trace, senders, every_sender=True), "RFC3261-10") if not f.ok]
    assert [(f.frames, f.severity) for f in bad] == [([5], "M")] and "an ACK for the 200" in bad[0].message
    good = read_trace(FIXTURES / "good-uac-call-tcp.pcapng")
    assert all(f.ok for f in of(rules.run_all(good, {p.src for p in good.sip}, every_sender=True), "RFC3261-10"))


def test_verify_without_dut_judges_every_sender_and_only_rfc_rules():
    _, findings, result = verify_capture(FIXTURES / "fail-RFC3261-10-noack.pcapng")
    assert any(f.rule == "RFC3261-10" and f.severity == "M" for f in findings) and result.verdict == "FAIL"
    _, findings, _ = verify_capture(FIXTURES / "fail-MED-03.pcapng")
    assert not any(f.rule.startswith("MED-03") for f in findings)
    _, findings, _ = verify_capture(FIXTURES / "fail-MED-03.pcapng", lync=True)
    assert any(f.rule == "MED-03 (Lync profile)" and not f.ok for f in findings)


def test_per_device_facts_stay_per_device_when_every_sender_is_judged():
    """RFC3311-03: the far end using UPDATE does not oblige the Mediation side to list it."""
    trace = read_trace(FIXTURES / "good-uas-call.pcapng")
    found = of(rules.run_all(trace, {p.src for p in trace.sip}, every_sender=True), "RFC3311-03")
    assert found and all(f.ok for f in found)


@needs_shared
def test_ng911_bcf_capture_is_no_longer_a_pass():
    """INVITE, INVITE, 100, 200, no ACK: the 100 and 200 from 192.168.1.50 do not copy the Via (another branch) nor
    the From tag of the INVITE they answer, so 192.168.1.10 cannot match them (and owes no ACK for them)."""
    _, findings, result = verify_capture(SHARED / "ng911--BCF_010_tls_sip.pcap",
                                         SHARED / "ng911--BCF_010_sip_sslkeys.log", [5061], [5060])
    bad = [f for f in findings if f.rule == "RFC3261-08" and not f.ok]
    assert {f.frames[0] for f in bad} == {37, 38} and all(f.severity == "M" for f in bad)
    assert any("z9hG4bK-bcf-esrp-964" in f.message and "z9hG4bK-esrp-bcf-226" in f.message for f in bad)
    assert result.verdict == "FAIL"


# ---- item 10: option tags -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("header, verdict", [
    ("Supported: 100rel, timer, ms-safe-transfer", None),     # Lync's own tags are not judged
    ("Supported: x-cisco-srtp-fallback", None),               # vendor tags only advertise
    ("Supported: replace", "R"),                              # misspelled: the feature is lost
    ("Require: x-cisco-srtp-fallback", "M"),                  # a Lync peer answers 420
    ("Proxy-Require: foo", "M"),
])
def test_option_tags(header, verdict):
    sip = [pkt(PROXIED.format(vias=DUT_VIA, mf=70).replace("Content-Length", f"{header}\r\nContent-Length"),
               DUT, FAR, 1, 0.0)]
    found = of(rules.run_all(Trace(path=None, sip=sip), {DUT}), "RFC3261-21")
    assert [f.severity for f in found if not f.ok] == ([verdict] if verdict else []) and found
    if verdict == "R":
        assert "did you mean 'replaces'?" in found[0].message
