"""Suites ID and NUM on crafted captures: each check PASSes on the right call and FAILs on the one fault it must
catch, with the frame. The lab proves "+" stripped toward the Mediation side (faulty-plus-stripped) and Privacy
dropped (faulty-privacy-ignored) end to end (tests/test_lab.py); here "+" added, "+" stripped in a PAI, the number
compared by RFC 3966 rules (visual separators, tel:), PAI dropped, the withheld number in From, an alias passed to
the PSTN, double translation, To rewritten toward Lync, History-Info not mapped, bad Diversion / History-Info."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "sip"))
from make_fixtures import DUT, FAR, MS, Capture, sdp, sip  # noqa: E402

from sipqual import checks  # noqa: E402
from sipqual.checks.ident import diversion_defects, history_defects, number_of  # noqa: E402
from sipqual.sipvalues import parse_uri  # noqa: E402
from sipqual.trace import read_trace  # noqa: E402

TEST_ID = "TC-ID-XX-tcp-abc"
IN_CALLED, IN_CALLER = "+14255550123", "+15550001000"
OUT_CALLED, OUT_CALLER = "+15550002000", "+14255550100"
IN = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called=IN_CALLED)
OUT = checks.CallSpec(TEST_ID, caller_ip=MS, callee_ip=FAR, dut_in_ip=DUT, dut_out_ip=DUT, called=OUT_CALLED)
CT = "Content-Type: application/sdp"
ARGS = dict(rule="NUM-01", requirements=["NUM-01"], severity="M")


def call(tmp_path, spec, ours: tuple, theirs: tuple, ok_a: tuple = ()) -> object:
    """Our INVITE (marker) to the DUT, the DUT's INVITE (a B2BUA: own Call-ID) to the callee, 200s on both legs.
    ``ours``/``theirs``: (Request-URI user, To value, From value, *extra headers)."""
    c = Capture()
    src, dst = spec.caller_ip, spec.callee_ip
    ru, to, fr, *extra = ours
    c.udp(src, DUT, sip(f"INVITE sip:{ru}@{DUT};user=phone SIP/2.0", f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-1",
                        "Max-Forwards: 70", f"From: {fr};tag=ca", f"To: {to}", "Call-ID: a@x", "CSeq: 1 INVITE",
                        f"Contact: <sip:{src}:5060>", *extra, f"{checks.MARKER}: {TEST_ID}", CT,
                        body=sdp(1, src, 30000)))
    ru2, to2, fr2, *extra2 = theirs
    c.udp(DUT, dst, sip(f"INVITE sip:{ru2}@{dst};user=phone SIP/2.0",
                        f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-2", "Max-Forwards: 69", f"From: {fr2};tag=db",
                        f"To: {to2}", "Call-ID: b@x", "CSeq: 1 INVITE", f"Contact: <sip:{DUT}:5060>", *extra2, CT,
                        body=sdp(1, DUT, 40000)))
    c.udp(dst, DUT, sip("SIP/2.0 200 OK", f"Via: SIP/2.0/UDP {DUT}:5060;branch=z9hG4bK-2", f"From: {fr2};tag=db",
                        f"To: {to2};tag=cb", "Call-ID: b@x", "CSeq: 1 INVITE", f"Contact: <sip:{dst}:5060>", CT,
                        body=sdp(1, dst, 50000)))
    to_a = ok_a[0] if ok_a else to
    c.udp(DUT, src, sip("SIP/2.0 200 OK", f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-1", f"From: {fr};tag=ca",
                        f"To: {to_a};tag=da", "Call-ID: a@x", "CSeq: 1 INVITE", f"Contact: <sip:{DUT}:5060>",
                        *ok_a[1:], CT, body=sdp(1, DUT, 40002)))
    path = tmp_path / "c.pcapng"
    c.write(path)
    return read_trace(path)


def u(num: str, host: str = "h", params: str = ";user=phone") -> str:
    return f"<sip:{num}@{host}{params}>"


def fails(found) -> list[str]:
    return [f.message for f in found if not f.ok]


# ------------------------------------------------------------------------------------- number format (NUM-01/ID-01)

def test_number_of_reads_rfc3966_numbers_not_text():
    assert number_of(parse_uri("sip:+1-425-555-0123@h;user=phone")).digits == "14255550123"
    n = number_of(parse_uri("tel:+1(425)555.0123"))
    assert n.plus and n.phone and n.digits == "14255550123"
    assert number_of(parse_uri("sip:%2B14255550123@h;USER=Phone")).plus   # escaped '+', parameter case
    assert number_of(parse_uri("sip:alice@h")) is None and number_of(parse_uri("sip:anonymous@anonymous.invalid")) \
        is None


def _in(tmp_path, ru=IN_CALLED, to=IN_CALLED, fr=IN_CALLER, *extra, to_params=";user=phone"):
    return call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), u(IN_CALLER)),
                (ru, u(to, params=to_params), u(fr), *extra))


def test_in_e164_passes(tmp_path):
    tr = _in(tmp_path, "+1-425-555-0123", IN_CALLED, IN_CALLER, f"P-Asserted-Identity: <tel:{IN_CALLER}>")
    found = checks.numbers_sent(tr, spec=IN, called=IN_CALLED, caller=IN_CALLER, plus=True, **ARGS)
    assert len(found) == 4 and all(f.ok for f in found), fails(found)


def test_plus_stripped_toward_mediation_fails(tmp_path):
    tr = _in(tmp_path, IN_CALLED.lstrip("+"), IN_CALLED, IN_CALLER)
    bad = fails(checks.numbers_sent(tr, spec=IN, called=IN_CALLED, caller=IN_CALLER, plus=True, **ARGS))
    assert bad == ["NUM-01: expected Request-URI +14255550123 with user=phone, observed "
                   "sip:14255550123@192.0.2.10;user=phone (the leading '+' stripped) (frame 2)"]


def test_plus_stripped_in_pai_only_fails(tmp_path):
    tr = _in(tmp_path, IN_CALLED, IN_CALLED, IN_CALLER, f"P-Asserted-Identity: {u(IN_CALLER.lstrip('+'))}")
    bad = fails(checks.numbers_sent(tr, spec=IN, called=IN_CALLED, caller=IN_CALLER, plus=True, **ARGS))
    assert len(bad) == 1 and bad[0].startswith("NUM-01: expected P-Asserted-Identity +15550001000") \
        and "stripped" in bad[0]


def test_plus_added_on_a_remove_plus_trunk_fails(tmp_path):
    tr = _in(tmp_path, IN_CALLED.lstrip("+"), IN_CALLED.lstrip("+"), IN_CALLER)
    bad = fails(checks.numbers_sent(tr, spec=IN, called=IN_CALLED, caller=IN_CALLER, plus=False, **ARGS))
    assert bad == ["NUM-01: expected From 15550001000 with user=phone, observed sip:+15550001000@h;user=phone "
                   "(a leading '+' added) (frame 2)"]


def test_user_phone_dropped_and_digits_changed_fail(tmp_path):
    tr = _in(tmp_path, IN_CALLED, IN_CALLED, "+15550009999", to_params="")
    bad = fails(checks.numbers_sent(tr, spec=IN, called=IN_CALLED, caller=IN_CALLER, plus=True, **ARGS))
    assert any("To +14255550123" in b and "(no user=phone)" in b for b in bad), bad
    assert any("From +15550001000" in b and "(digits 15550009999)" in b for b in bad), bad


def test_double_translation_fails_num03(tmp_path):
    """Lync already translated (+1 555... -> 1555...): a DUT that translates again ("+" or 00 prefix) FAILs."""
    tr = call(tmp_path, OUT, ("15550002000", u("15550002000"), u("4255550100")),
              ("+15550002000", u("0015550002000"), u("4255550100")))
    found = checks.numbers_sent(tr, spec=OUT, called="15550002000", caller="4255550100", plus=False, rule="NUM-03",
                                requirements=["NUM-03"], severity="M")
    bad = fails(found)
    assert len(bad) == 2 and "a leading '+' added" in bad[0] and "(digits 0015550002000)" in bad[1], bad
    assert [f.ok for f in found] == [False, False, True]


def test_out_call_to_rewritten_toward_lync_fails(tmp_path):
    """NUM-01 toward the Mediation side of an OUT call: the DUT's 200 must carry Lync's own To (RFC 3261 URI rules:
    the same URI written differently passes, a "+" stripped fails)."""
    mine = (OUT_CALLED, u(OUT_CALLED, "sbc.lab.example"), u(OUT_CALLER))
    far = (OUT_CALLED, u(OUT_CALLED), u(OUT_CALLER))
    ok = call(tmp_path, OUT, mine, far, ok_a=("<sip:%2B15550002000@SBC.lab.example;user=phone>",))
    assert all(f.ok for f in checks.to_kept_toward_caller(ok, spec=OUT, **ARGS))
    bad = call(tmp_path, OUT, mine, far, ok_a=(u(OUT_CALLED.lstrip("+"), "sbc.lab.example"),))
    assert fails(checks.to_kept_toward_caller(bad, spec=OUT, **ARGS)) == [
        "NUM-01: expected To sip:+15550002000@sbc.lab.example;user=phone in the DUT's 200 to the caller, as the "
        "caller sent it (frame 1), observed sip:15550002000@sbc.lab.example;user=phone (frame 4)"]
    # RemovePlusFromUri (TC-NUM-02): Lync's To has no "+", the DUT's 200 adds one
    no_plus = (OUT_CALLED.lstrip("+"), u(OUT_CALLED.lstrip("+"), "sbc.lab.example"), u(OUT_CALLER.lstrip("+")))
    plus_added = call(tmp_path, OUT, no_plus, far, ok_a=(u(OUT_CALLED, "sbc.lab.example"),))
    assert fails(checks.to_kept_toward_caller(plus_added, spec=OUT, **ARGS))[0].endswith(
        "observed sip:+15550002000@sbc.lab.example;user=phone (frame 4)")
    added = call(tmp_path, OUT, mine, far, ok_a=(u(OUT_CALLED, "sbc.lab.example"),
                                                 f"P-Asserted-Identity: {u(OUT_CALLED.lstrip('+'))}"))
    assert fails(checks.to_kept_toward_caller(added, spec=OUT, **ARGS))[0].startswith(
        "NUM-01: expected P-Asserted-Identity in the caller's number format (+15550002000 user=phone)")


# ---------------------------------------------------------------------------------------- privacy (ID-02, ID-05)

ANON = '"Anonymous" <sip:anonymous@anonymous.invalid>'
PRIV = dict(rule="ID-06", requirements=["ID-06"], severity="R")


def _withheld(tmp_path, fr, *extra):
    return call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), ANON, f"P-Asserted-Identity: {u(IN_CALLER)}", "Privacy: id"),
                (IN_CALLED, u(IN_CALLED), fr, *extra))


def test_withheld_caller_passes(tmp_path):
    tr = _withheld(tmp_path, ANON, f"P-Asserted-Identity: {u(IN_CALLER)}", "Privacy: id;critical")
    found = checks.withheld_caller(tr, spec=IN, caller=IN_CALLER, plus=True, **PRIV)
    assert found and all(f.ok for f in found), fails(found)


def test_pai_dropped_fails(tmp_path):
    bad = fails(checks.withheld_caller(_withheld(tmp_path, ANON, "Privacy: id"), spec=IN, caller=IN_CALLER,
                                       plus=True, **PRIV))
    assert bad == ["ID-06: expected a P-Asserted-Identity with the caller +15550001000 (the trunk is trusted: "
                   "ForwardPAI), observed PAI dropped (frame 2)"]


def test_privacy_ignored_fails(tmp_path):
    bad = fails(checks.withheld_caller(_withheld(tmp_path, ANON, f"P-Asserted-Identity: {u(IN_CALLER)}"),
                                       spec=IN, caller=IN_CALLER, plus=True, **PRIV))
    assert len(bad) == 1 and bad[0].startswith("ID-06: expected Privacy: id with the P-Asserted-Identity") \
        and "Privacy ignored" in bad[0]


def test_withheld_number_in_from_fails(tmp_path):
    """The number leaked into From (by URI or by display name) though the caller withheld it."""
    for fr in (u(IN_CALLER), '"+1 555 000 1000" <sip:anonymous@anonymous.invalid>'):
        tr = _withheld(tmp_path, fr, f"P-Asserted-Identity: {u(IN_CALLER)}", "Privacy: id")
        bad = fails(checks.withheld_caller(tr, spec=IN, caller=IN_CALLER, plus=True, **PRIV))
        assert len(bad) == 1 and "(the withheld number presented)" in bad[0], bad


def test_pai_dropped_on_a_presented_call_fails_id05(tmp_path):
    tr = call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), u(IN_CALLER), f"P-Asserted-Identity: {u(IN_CALLER)}"),
              (IN_CALLED, u(IN_CALLED), u(IN_CALLER)))
    assert fails(checks.asserted_caller(tr, spec=IN, caller=IN_CALLER, plus=True, rule="ID-01",
                                        requirements=["ID-01"], severity="R")) == [
        "ID-01: expected a P-Asserted-Identity with the caller +15550001000, observed PAI dropped (frame 2)"]


@pytest.mark.parametrize("fr, extra, ok", [
    ("<sip:alice@pool>", ("Privacy: id",), True),                         # restricted by Privacy
    (ANON, (), True),                                                     # restricted by an anonymous From
    ("<sip:+14255550100@sbc;user=phone>", (), True),                      # the trunk's default number
    ("<sip:alice@pool>", (), False),                                      # the alias passed on as it came
    ("<sip:alice@pool>", ("Privacy: none",), False),
])
def test_alias_from_presented_restricted(tmp_path, fr, extra, ok):
    tr = call(tmp_path, OUT, (OUT_CALLED, u(OUT_CALLED), "<sip:alice@pool>"), (OUT_CALLED, u(OUT_CALLED), fr, *extra))
    found = checks.restricted_presentation(tr, spec=OUT, alias="alice", rule="ID-05", requirements=["ID-05"],
                                           severity="R")
    assert [f.ok for f in found] == [ok], found
    if not ok:
        assert found[0].message.startswith("ID-05: expected restricted presentation") and found[0].frames == [2]


# ---------------------------------------------------------------------------------- redirection (ID-06, ID-07)

HI = ("History-Info: <sip:+14255550123@pool;user=phone?Reason=SIP%3Bcause%3D480>;index=1",
      "History-Info: <sip:+15550002000@pool;user=phone;cause=480>;index=1.1;mp=1")
HIST = dict(rule="ID-02", requirements=["ID-02"], severity="R")


def _forwarded(tmp_path, *extra):
    return call(tmp_path, OUT, (OUT_CALLED, u(OUT_CALLED), u(IN_CALLER), *HI, f"Referred-By: {u(IN_CALLED)}"),
                (OUT_CALLED, u(OUT_CALLED), u(IN_CALLER), *extra))


def test_history_info_mapped_passes(tmp_path):
    for extra in (HI, (f"Diversion: {u(IN_CALLED)};reason=no-answer;counter=1",)):
        found = checks.history_mapped(_forwarded(tmp_path, *extra), spec=OUT, redirecting=IN_CALLED,
                                      mapping_claimed=True, **HIST)
        assert found and all(f.ok for f in found), fails(found)


def test_history_info_not_mapped_fails_only_when_claimed(tmp_path):
    tr = _forwarded(tmp_path)
    assert fails(checks.history_mapped(tr, spec=OUT, redirecting=IN_CALLED, mapping_claimed=True, **HIST)) == [
        "ID-02: expected the redirecting number +14255550123 in a Diversion or History-Info toward the PSTN (PICS "
        "history_info), observed 0 Diversion, 0 History-Info, none naming it (frame 2)"]
    assert all(f.ok for f in checks.history_mapped(tr, spec=OUT, redirecting=IN_CALLED, mapping_claimed=False,
                                                   **HIST))


def test_diversion_and_history_info_grammar():
    assert diversion_defects("<sip:+1555@h;user=phone>;reason=unconditional;counter=1;privacy=off") == []
    assert diversion_defects("<sip:+1555@h>;reason=user-busy;counter=2;screen=no") == []
    assert "no reason parameter" in diversion_defects("<sip:+1555@h>;counter=1")
    assert "bad counter '100'" in diversion_defects("<sip:+1555@h>;reason=away;counter=100")
    assert "bad privacy 'maybe'" in diversion_defects("<sip:+1555@h>;reason=away;privacy=maybe")
    assert "not a name-addr (the URI must be in <...>)" in diversion_defects("sip:+1555@h;reason=away")
    assert history_defects(["<sip:a@h>;index=1", "<sip:b@h>;index=1.1;rc=1"]) == []
    assert any("no valid index" in d for d in history_defects(["<sip:a@h>;index=1", "<sip:b@h>"]))
    assert "index 1 twice" in history_defects(["<sip:a@h>;index=1", "<sip:b@h>;index=1"])
    assert any("bad mp" in d for d in history_defects(["<sip:a@h>;index=1;mp=x"]))


def test_bad_redirect_syntax_toward_lync_fails(tmp_path):
    good = call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), u(IN_CALLER), "Diversion: <sip:+1555@h>;reason=unconditional"),
                (IN_CALLED, u(IN_CALLED), u(IN_CALLER), "Diversion: <sip:+1555@h>;reason=unconditional;counter=1"))
    args = dict(rule="ID-07", requirements=["ID-07"], severity="O")
    assert all(f.ok for f in checks.redirect_syntax(good, spec=IN, **args))
    bad = call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), u(IN_CALLER)),
               (IN_CALLED, u(IN_CALLED), u(IN_CALLER), "Diversion: sip:+1555@h;counter=1",
                "History-Info: <sip:a@h>;index=1", "History-Info: <sip:b@h>;index=1"))
    msgs = fails(checks.redirect_syntax(bad, spec=IN, **args))
    assert len(msgs) == 2 and msgs[0].startswith("ID-07: expected Diversion as RFC 5806 section 4 writes it") \
        and "no reason parameter" in msgs[0] and "index 1 twice" in msgs[1], msgs
    none = call(tmp_path, IN, (IN_CALLED, u(IN_CALLED), u(IN_CALLER)), (IN_CALLED, u(IN_CALLED), u(IN_CALLER)))
    assert [f.message for f in checks.redirect_syntax(none, spec=IN, **args)] == [
        "ID-07: no Diversion or History-Info sent on (nothing to validate) (frame 2)"]


def test_formats_recorded_and_routing_failure(tmp_path):
    tr = call(tmp_path, IN, ("4255550123", u("4255550123"), u("1000")),
              ("4255550123", u("4255550123", params=";user=phone;phone-context=+1"), u("+15550001000")))
    spec = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called="4255550123")
    msgs = [f.message for f in checks.formats_recorded(tr, spec=spec, rule="NUM-02", requirements=["NUM-02"])]
    assert msgs[1] == "NUM-02: To: 4255550123 user=phone (local, phone-context=+1) (frame 2)"
    assert msgs[2] == "NUM-02: From: +15550001000 user=phone (E.164, normalised) (frame 2)"
    # never routed: the number checks name the missing INVITE (CALL-ROUTE), not a format
    lost = checks.CallSpec(TEST_ID, caller_ip=FAR, callee_ip=MS, dut_in_ip=DUT, dut_out_ip=DUT, called="+19990000000")
    found = checks.numbers_sent(tr, spec=lost, called="+19990000000", caller=IN_CALLER, plus=True, **ARGS)
    assert [f.rule for f in found] == ["CALL-ROUTE"] and not found[0].ok
