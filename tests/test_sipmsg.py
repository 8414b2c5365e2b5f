"""Tests for sipqual.sipmsg: structured, tolerant SIP message parsing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sipqual.sipmsg import (
    CSeq,
    SipParseError,
    canonical_name,
    parse_message,
    parse_name_addr,
    parse_uri,
    parse_via,
)
from sipqual.uri import name_addr_equal, uri_equal

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"


def build(*lines: str, body: bytes = b"", eol: str = "\r\n") -> bytes:
    return (eol.join(lines) + eol + eol).encode() + body


def invite(*extra: str, body: bytes = b"", eol: str = "\r\n") -> bytes:
    return build(
        "INVITE sip:+15550002000@sbc.lab.example SIP/2.0",
        "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK111",
        "From: <sip:alice@lab.example>;tag=a1",
        "To: <sip:+15550002000@sbc.lab.example>",
        "Call-ID: abc@10.0.0.1",
        "CSeq: 1 INVITE",
        "Max-Forwards: 70",
        *extra,
        body=body,
        eol=eol,
    )


# ------------------------------------------------------------ start line


def test_request_line_and_clean_message_has_no_defects():
    msg = parse_message(invite("Content-Length: 0"))
    assert msg.is_request and msg.method == "INVITE"
    assert msg.ruri == "sip:+15550002000@sbc.lab.example"
    assert msg.version == "SIP/2.0"
    assert msg.status is None and msg.reason is None
    assert msg.summary() == "INVITE sip:+15550002000@sbc.lab.example"
    assert msg.defects == []


def test_status_line_with_multi_word_reason():
    msg = parse_message(build(
        "SIP/2.0 183 Session Progress Now",
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
        "From: <sip:a@h>;tag=1", "To: <sip:b@h>;tag=2",
        "Call-ID: x", "CSeq: 7 INVITE", "Content-Length: 0"))
    assert not msg.is_request and msg.is_response
    assert msg.status == 183
    assert msg.reason == "Session Progress Now"
    assert msg.method is None
    assert msg.summary() == "183 Session Progress Now (INVITE)"
    assert msg.defects == []


def test_leading_crlf_keepalive_before_start_line_is_ignored():
    msg = parse_message(b"\r\n\r\n" + invite())
    assert msg.method == "INVITE"


@pytest.mark.parametrize("data", [b"", b"\r\n", b"hello world\r\n\r\n",
                                  b"SIP/2.0 OK\r\n\r\n", b"\x00\xff\xfe garbage"])
def test_unusable_start_line_raises_sip_parse_error(data):
    with pytest.raises(SipParseError):
        parse_message(data)
    assert issubclass(SipParseError, ValueError)


def test_garbage_headers_are_defects_not_exceptions():
    msg = parse_message(build(
        "OPTIONS sip:h SIP/2.0", "this line has no colon", "Bad Name: x",
        " orphan?", "Call-ID: q"))
    assert msg.call_id == "q"
    assert any(d.startswith("header line without colon:") for d in msg.defects)
    assert "invalid header name 'Bad Name'" in msg.defects
    assert "missing mandatory header Via" in msg.defects


def test_lower_case_method_and_wrong_version_are_defects():
    msg = parse_message(build("invite sip:h SIP/3.0", "CSeq: 1 invite"))
    assert msg.method == "invite"
    assert any("not upper-case" in d for d in msg.defects)
    assert "SIP version 'SIP/3.0' is not SIP/2.0" in msg.defects


# ----------------------------------------------------------------- headers


def test_compact_forms_in_message():
    msg = parse_message(build(
        "INVITE sip:b@h SIP/2.0",
        "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKc1",
        "f: Alice <sip:a@h>;tag=ft",
        "t: <sip:b@h>",
        "i: compact@192.0.2.1",
        "m: <sip:a@192.0.2.1>",
        "CSeq: 1 INVITE", "Max-Forwards: 70",
        "c: application/sdp",
        "l: 4", body=b"v=0\n"))
    assert msg.call_id == "compact@192.0.2.1"
    assert msg.from_.tag == "ft" and msg.from_.display == "Alice"
    assert msg.to.uri.user == "b"
    assert msg.vias[0].branch == "z9hG4bKc1"
    assert msg.contacts[0].uri.host == "192.0.2.1"
    assert msg.content_length == 4 and msg.body == b"v=0\n"
    assert [h.name for h in msg.headers][:2] == ["Via", "From"]
    assert msg.headers[0].raw_name == "v"
    assert msg.defects == []


def test_compact_forms_in_query_and_odd_case():
    msg = parse_message(invite("cALL-iD: second", "content-LENGTH: 0"))
    assert msg.get("i") == msg.get("CALL-ID") == msg.get("call-id") == "abc@10.0.0.1"
    assert msg.count("i") == 2
    assert msg.values("Call-ID") == ["abc@10.0.0.1", "second"]
    assert msg.headers[-2].name == "Call-ID" and msg.headers[-2].raw_name == "cALL-iD"
    assert msg.get("l") == "0" and msg.has("Content-Length")
    assert "Call-ID appears 2 times" in msg.defects


def test_compact_forms_of_refer_and_event_headers():
    """RFC 3515 (r: Refer-To), RFC 3892 (b: Referred-By), RFC 6665 (o: Event, u: Allow-Events); Subscription-State
    and Replaces have no compact form."""
    msg = parse_message(invite("r: <sip:c@h?Replaces=x%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>", "b: <sip:a@h>",
                               "o: refer;id=1", "u: refer", "Replaces: x@h;to-tag=1;from-tag=2"))
    assert msg.get("Refer-To").startswith("<sip:c@h") and msg.get("Referred-By") == "<sip:a@h>"
    assert msg.get("Event") == "refer;id=1" and msg.values("Allow-Events") == ["refer"]
    assert parse_name_addr(msg.get("Refer-To")).uri.headers == {"Replaces": "x@h;to-tag=1;from-tag=2"}
    assert canonical_name("subscription-state") == "Subscription-State" and msg.get("Replaces").startswith("x@h")


def test_canonical_names():
    assert canonical_name("www-authenticate") == "WWW-Authenticate"
    assert canonical_name("CSEQ") == "CSeq"
    assert canonical_name("p-asserted-identity") == "P-Asserted-Identity"
    assert canonical_name("x") == "Session-Expires"
    assert canonical_name("X-MY-header") == "X-My-Header"


def test_repeated_and_comma_joined_vias_keep_order():
    msg = parse_message(build(
        "BYE sip:b@h SIP/2.0",
        "Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1, SIP/2.0/TCP p2.example:5070;branch=z9hG4bK2",
        "Via: SIP/2.0/udp [2001:db8::1]:5060;branch=z9hG4bK3;rport;received=192.0.2.9",
        "From: <sip:a@h>;tag=1", "To: <sip:b@h>;tag=2", "Call-ID: c",
        "CSeq: 2 BYE", "Max-Forwards: 69"))
    vias = msg.vias
    assert [v.branch for v in vias] == ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]
    assert [v.host for v in vias] == ["p1.example", "p2.example", "2001:db8::1"]
    assert [v.port for v in vias] == [None, 5070, 5060]
    assert vias[2].transport == "UDP"
    assert vias[2].params == {"branch": "z9hG4bK3", "rport": None, "received": "192.0.2.9"}
    assert msg.count("Via") == 2 and len(msg.values("Via")) == 3
    assert msg.defects == []


def test_list_splitting_respects_quotes_and_angle_brackets():
    msg = parse_message(invite(
        'Contact: "Doe, John <x>" <sip:jd@h;transport=tcp?Subject=a,b>;q=0.5, <sip:two@h>',
        'P-Asserted-Identity: "Quote \\" ,here" <sip:+1555@h>, <tel:+1555>'))
    contacts = msg.contacts
    assert len(contacts) == 2
    assert contacts[0].display == "Doe, John <x>"
    assert contacts[0].uri.params == {"transport": "tcp"}
    assert contacts[0].uri.headers == {"Subject": "a,b"}
    assert contacts[0].params == {"q": "0.5"}
    assert contacts[1].uri.user == "two"
    pai = msg.values("P-Asserted-Identity")
    assert pai == ['"Quote \\" ,here" <sip:+1555@h>', "<tel:+1555>"]
    assert parse_name_addr(pai[0]).display == 'Quote " ,here'


def test_token_lists_are_stripped_and_allow_upper_cased():
    msg = parse_message(invite(
        "Allow: INVITE ,ack,  BYE", "Allow: OPTIONS",
        "Supported: timer, 100rel,replaces", "Require: 100rel"))
    assert msg.allow == ["INVITE", "ACK", "BYE", "OPTIONS"]
    assert msg.supported == ["timer", "100rel", "replaces"]
    assert msg.require == ["100rel"]
    assert msg.get("Allow") == "INVITE ,ack,  BYE"


def test_non_list_headers_one_value_per_line():
    msg = parse_message(invite("Subject: hello, world", "Date: Sat, 13 Nov 2010 23:29:00 GMT"))
    assert msg.values("Subject") == ["hello, world"]
    assert msg.values("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert msg.values("To") == ["<sip:+15550002000@sbc.lab.example>"]


def test_continuation_lines_unfold():
    msg = parse_message(invite("Subject: I know you're there,", "   pick up the phone", "\tand talk"))
    assert msg.get("Subject") == "I know you're there, pick up the phone and talk"
    assert msg.count("Subject") == 1


def test_bare_lf_line_endings():
    msg = parse_message(invite("Content-Type: text/plain", "Content-Length: 3",
                               body=b"abc", eol="\n"))
    assert msg.call_id == "abc@10.0.0.1"
    assert msg.body == b"abc"
    assert "line terminated by bare LF instead of CRLF" in msg.defects
    assert not any("Content-Length" in d for d in msg.defects)


def test_cseq_parsing_and_bad_cseq():
    ok = parse_message(invite())
    assert ok.cseq == CSeq(1, "INVITE") and ok.cseq_method == "INVITE"
    bad = parse_message(build("INVITE sip:h SIP/2.0", "CSeq: one INVITE"))
    assert bad.cseq is None and bad.cseq_method is None
    assert "CSeq 'one INVITE' is not 'number METHOD'" in bad.defects
    mismatch = parse_message(build("BYE sip:h SIP/2.0", "CSeq: 5 INVITE"))
    assert any("does not match request method" in d for d in mismatch.defects)


def test_max_forwards():
    assert parse_message(invite()).max_forwards == 70
    msg = parse_message(build("OPTIONS sip:h SIP/2.0", "Max-Forwards: lots"))
    assert msg.max_forwards is None
    assert "Max-Forwards 'lots' is not a number" in msg.defects


def test_record_route_and_route():
    msg = parse_message(invite(
        "Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr;transport=tls>",
        "Route: <sip:[2001:db8::5]:5061;lr>"))
    assert [r.uri.host for r in msg.record_routes] == ["p1.example", "p2.example"]
    assert msg.record_routes[1].uri.params == {"lr": None, "transport": "tls"}
    assert msg.routes[0].uri.host == "2001:db8::5" and msg.routes[0].uri.port == 5061


def test_contact_star():
    msg = parse_message(build(
        "REGISTER sip:lab.example SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK9",
        "From: <sip:a@lab.example>;tag=1", "To: <sip:a@lab.example>", "Call-ID: r",
        "CSeq: 3 REGISTER", "Max-Forwards: 70", "Contact: *", "Expires: 0"))
    (star,) = msg.contacts
    assert star.is_wildcard and star.uri is None and star.uri_text == "*"
    assert msg.defects == []


# ------------------------------------------------------------ body / length


def test_bad_content_length_keeps_whole_body():
    msg = parse_message(invite("Content-Type: text/plain", "Content-Length: bad", body=b"hello"))
    assert msg.content_length is None
    assert msg.body == b"hello"
    assert "Content-Length 'bad' is not a number" in msg.defects


def test_body_longer_than_declared_is_truncated():
    msg = parse_message(invite("Content-Type: text/plain", "Content-Length: 5",
                               body=b"helloEXTRA"))
    assert msg.body == b"hello"
    assert "5 bytes after declared body" in msg.defects


def test_body_shorter_than_declared():
    msg = parse_message(invite("Content-Type: text/plain", "Content-Length: 12",
                               body=b"0123456789"))
    assert msg.body == b"0123456789"
    assert "Content-Length 12 but body has 10 bytes" in msg.defects


def test_no_content_length_and_unterminated_headers():
    msg = parse_message(b"OPTIONS sip:h SIP/2.0\r\nCall-ID: z")
    assert msg.content_length is None and msg.body == b""
    assert msg.call_id == "z"
    assert "header section not terminated by an empty line" in msg.defects


def test_body_without_content_type_is_defect():
    msg = parse_message(invite("Content-Length: 2", body=b"hi"))
    assert "body present without Content-Type" in msg.defects


# ------------------------------------------------------------- name-addr


def test_name_addr_addr_spec_params_belong_to_header():
    na = parse_name_addr("sip:bob@biloxi.example;tag=8321234356;transport=tcp")
    assert na.display is None
    assert na.uri_text == "sip:bob@biloxi.example"
    assert na.uri.params == {}
    assert na.params == {"tag": "8321234356", "transport": "tcp"}
    assert na.tag == "8321234356"


def test_name_addr_bracketed_params_belong_to_uri():
    na = parse_name_addr('"Bob" <sip:bob@biloxi.example;transport=tcp>;TAG=x;expires=60')
    assert na.display == "Bob"
    assert na.uri.params == {"transport": "tcp"}
    assert na.params == {"tag": "x", "expires": "60"}


def test_name_addr_token_display_and_empty_quoted_display():
    assert parse_name_addr("Alice  Smith <sip:a@h>").display == "Alice Smith"
    assert parse_name_addr('"" <sip:a@h>').display == ""
    assert parse_name_addr("<sip:a@h>").display is None


def test_name_addr_defects():
    assert any("neither tokens nor a quoted string" in d
               for d in parse_name_addr('\\"arik\\" <sip:a@h>').defects)
    assert "missing '>' after URI" in parse_name_addr("<sip:a@h;tag=1").defects
    assert parse_name_addr("nonsense").uri is None


# ------------------------------------------------------------------ URIs


def test_sip_uri_full():
    uri = parse_uri("sips:alice:secret@Atlanta.example:5061;transport=TLS;LR;maddr=239.0.0.1"
                    "?Subject=project%20x&Priority=urgent")
    assert uri.scheme == "sips"
    assert (uri.user, uri.password) == ("alice", "secret")
    assert uri.host == "Atlanta.example" and uri.port == 5061
    assert uri.params == {"transport": "TLS", "lr": None, "maddr": "239.0.0.1"}
    assert uri.headers == {"Subject": "project x", "Priority": "urgent"}
    assert str(uri) == uri.raw and uri.defects == []


def test_sip_uri_ipv6_and_user_param():
    uri = parse_uri("sip:+15550001000;npdi@[2001:db8::1]:5060;user=phone")
    assert uri.user == "+15550001000;npdi"
    assert uri.host == "2001:db8::1" and uri.port == 5060
    assert uri.params == {"user": "phone"}
    assert parse_uri("SIP:[::1]").host == "::1" and parse_uri("SIP:[::1]").scheme == "sip"


def test_tel_uri():
    uri = parse_uri("tel:+1-201-555-0123;ext=1234;phone-context=example.com")
    assert uri.scheme == "tel"
    assert uri.user == "+1-201-555-0123"
    assert uri.host == ""
    assert uri.params == {"ext": "1234", "phone-context": "example.com"}


def test_uri_defects():
    assert parse_uri("sip:h:99999").port is None
    assert "bad port '99999'" in parse_uri("sip:h:99999").defects
    assert parse_uri("nocolon").scheme == ""
    assert parse_uri("sip:2001:db8::1").defects == ["IPv6 address '2001:db8::1' is not in brackets"]
    assert parse_uri("urn:service:sos").scheme == "urn"


# ------------------------------------------------------------------- Via


def test_parse_via_with_spaces_and_defects():
    via = parse_via("SIP / 2.0 / tls  edge.example:5061 ;branch=z9hG4bKx ;rport")
    assert (via.protocol, via.transport, via.host, via.port) == ("SIP/2.0", "TLS", "edge.example", 5061)
    assert via.branch == "z9hG4bKx" and via.has_magic_cookie
    assert via.params["rport"] is None
    assert parse_via("garbage").defects == ["unparseable Via 'garbage'"]
    assert not parse_via("SIP/2.0/UDP h;branch=1").has_magic_cookie


# ----------------------------------------------------- real capture (optional)


def _tshark_sip_raw(pcap: Path) -> list[bytes]:
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "sip", "-T", "ek", "-x", "-J", "sip"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    messages = []
    for line in out.splitlines():
        layers = json.loads(line).get("layers") if line.startswith("{") else None
        raw = (layers or {}).get("sip_raw")
        if raw:
            messages += [bytes.fromhex(h) for h in (raw if isinstance(raw, list) else [raw])]
    return messages


def test_compact_form_capture_from_suricata():
    pcap = CAPTURES / "suricata--sip_compact_form.pcap"
    if not pcap.exists():
        pytest.skip(f"shared capture {pcap} not available")
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    (msg,) = [m for m in map(parse_message, _tshark_sip_raw(pcap)) if m.method == "INVITE"]
    assert msg.call_id == "105090259-446faf7a@192.168.1.2"
    assert msg.from_.tag == "6433ef9"
    assert msg.vias[0].branch == "z9hG4bKnp104984053-44ce4a41192.168.1.2"
    assert msg.vias[0].params["rport"] is None
    assert msg.content_length == 272 and len(msg.body) == 272
    assert msg.get("c") == "application/sdp"
    # The capture's From uses backslash-escaped quotes outside a quoted string.
    assert any(d.startswith("From: display name") for d in msg.defects)


def test_request_uri_with_space_is_kept_and_flagged():
    msg = parse_message(build("INVITE sip:a b@h SIP/2.0", "CSeq: 1 INVITE"))
    assert msg.ruri == "sip:a b@h" and msg.version == "SIP/2.0"
    assert "Request-URI: URI contains whitespace: 'sip:a b@h'" in msg.defects
    assert msg.request_uri.host == "h"


# ---- URI equality (RFC 3261 section 19.1.4; its own examples) -----------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"),
    ("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"),
    ("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
     "sip:alice@atlanta.com?priority=urgent&subject=project%20x"),
    ("sip:gw@[2001:db8::1]:5060", "sip:gw@[2001:DB8:0:0::1]:5060"),
    ("tel:+1-555-000-2000", "tel:+15550002000"),
])
def test_equal_uris(a, b):
    assert uri_equal(a, b) and uri_equal(b, a)


@pytest.mark.parametrize("a, b", [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),    # user is case-sensitive
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),                                 # a default port != absent
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),                        # likewise transport
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),          # headers in one only
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),                           # a name is not its address
    ("sip:alice@atlanta.com", "sips:alice@atlanta.com"),
    ("sip:+1555@gw.example;user=phone", "sip:+1555@gw.example"),                       # user= must match
])
def test_unequal_uris(a, b):
    assert not uri_equal(a, b) and not uri_equal(b, a)


def test_from_values_compare_by_uri_and_tag():
    a = parse_name_addr('"Alice" <sip:alice@atlanta.com>;tag=1928301774')
    assert name_addr_equal(a, parse_name_addr("sip:alice@ATLANTA.com;tag=1928301774"))
    assert not name_addr_equal(a, parse_name_addr("<sip:alice@atlanta.com>;tag=other"))
    assert not name_addr_equal(a, parse_name_addr("<sip:alice@atlanta.com:5060>;tag=1928301774"))
    assert not name_addr_equal(a, parse_name_addr("<sip:alice@atlanta.com>"))
