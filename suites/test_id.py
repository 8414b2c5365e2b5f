"""Suites ID and NUM: caller and called numbers, their format on each leg, withheld callers and privacy, call
history. The checks read the number format the DUT sends ("+", user=phone, the digits) by RFC 3261/3966 rules, so
a DUT that strips or adds a "+" toward the Mediation side FAILs even when the call connects. Trust for PAI: both
trunks are in the DUT's trust domain (sipqual/checks/ident.py says why)."""

from sipqual import case, checks
from sipqual.flows import ident


def _plus(sq) -> bool:
    """Numbers carry their "+" unless the trunk runs with RemovePlusFromUri (PICS remove_plus)."""
    return not sq.profile.claims("remove_plus")


@case("TC-ID-01", "IN caller ID in E.164 with \"+\", user=phone", requirements=["NUM-01"],
      procedure="The far end calls the inbound number with Request-URI, To and From as sip:+E.164@host;user=phone; "
                "the Mediation side answers; 1 s of G.711; the far end hangs up.",
      expected="The DUT's INVITE to the Mediation side carries the called number in Request-URI and To and the "
               "caller in From (and PAI, if any) as +E.164 with user=phone, digit for digit (without the \"+\" "
               "when the trunk claims RemovePlusFromUri); the call completes.")
def test_in_caller_id_e164(sq):
    idn = ident.in_e164(sq)
    ident.in_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.in_spec(sq, idn)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.numbers_sent(trace, spec=spec, called=n["inbound_called"], caller=n["inbound_caller"],
                                   plus=_plus(sq), rule="NUM-01", requirements=["NUM-01"], severity="M"))


@case("TC-NUM-01", "OUT Request-URI +E.164;user=phone routed", requirements=["NUM-01"],
      procedure="The Mediation side calls the outbound number as Lync does (Request-URI, To, From "
                "sip:+E.164@host;user=phone); the far end answers; 1 s of G.711; the Mediation side hangs up.",
      expected="The DUT routes the call to the far end with the called subscriber digits; toward the Mediation side "
               "its responses keep Lync's To URI (no \"+\" stripped or added) and any PAI it adds is in the same "
               "format; the call completes.")
def test_out_e164_routed(sq):
    idn = ident.out_e164(sq)
    ident.out_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.out_spec(sq, idn)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.numbers_sent(trace, spec=spec, called=n["outbound_called"], caller=n["outbound_caller"],
                                   plus=True, rule="NUM-01", requirements=["NUM-01"], severity="M",
                                   exact_called=False, exact_caller=False)
             + checks.to_kept_toward_caller(trace, spec=spec, rule="NUM-01", requirements=["NUM-01"],
                                            severity="M"))


@case("TC-ID-03", "OUT caller ID from Lync mapped to the PSTN calling number", requirements=["NUM-01"],
      procedure="As TC-NUM-01: Lync's From sip:+E.164@pool;user=phone.",
      expected="The DUT's INVITE toward the PSTN carries the calling number's subscriber digits in From (or PAI); "
               "the call completes.")
def test_out_caller_id(sq):
    idn = ident.out_e164(sq)
    ident.out_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.out_spec(sq, idn)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.numbers_sent(trace, spec=spec, called=n["outbound_called"], caller=n["outbound_caller"],
                                   plus=True, rule="ID-03", requirements=["NUM-01"], severity="M",
                                   exact_called=False, exact_caller=False))


@case("TC-ID-02", "IN restricted caller (CLIR): anonymous From + PAI + Privacy: id", requirements=["ID-06"],
      needs=["privacy"],
      procedure="The far end calls with From \"Anonymous\" <sip:anonymous@anonymous.invalid>, the real number in "
                "P-Asserted-Identity (+E.164, user=phone) and Privacy: id; the Mediation side answers; 1 s; the "
                "far end hangs up. Trust: the Mediation trunk is in the DUT's trust domain (ForwardPAI), so the "
                "PAI is to be forwarded with its Privacy: id.",
      expected="The DUT delivers the call with no number in From, the PAI with the caller's +E.164 number and "
               "Privacy: id (a DUT that drops the PAI or the Privacy, or shows the number in From, FAILs).")
def test_in_withheld_caller(sq):
    idn = ident.in_withheld(sq)
    ident.in_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.in_spec(sq, idn)
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.withheld_caller(trace, spec=spec, caller=sq.pixit["numbers"]["inbound_caller"],
                                      plus=_plus(sq), rule="ID-06", requirements=["ID-06"], severity="R"))


@case("TC-ID-04", "OUT restricted from Lync (alias From without user=phone) -> CLIR on the PSTN",
      requirements=["ID-05"], needs=["privacy"],
      procedure="The Mediation side calls the outbound number with From <sip:alice@pool> (Lync's alias: no number, "
                "no user=phone, no PAI); the far end answers; 1 s; the Mediation side hangs up.",
      expected="The DUT routes the call (no rejection) and presents it restricted toward the PSTN (anonymous From or "
               "a Privacy header) or with a default number, never the alias as it came.")
def test_out_alias_restricted(sq):
    idn = ident.out_alias(sq)
    ident.out_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.out_spec(sq, idn)
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.restricted_presentation(trace, spec=spec, alias=ident.ALIAS, rule="ID-05",
                                              requirements=["ID-05"], severity="R"))


@case("TC-ID-05", "ForwardPAI=True: PAI in both directions, Privacy honoured", requirements=["ID-01"],
      needs=["forward_pai", "privacy"],
      procedure="1) The Mediation side calls out with an anonymous From, PAI <sip:+E.164@pool;user=phone> and "
                "Privacy: id; the far end answers; 1 s; BYE. 2) The far end calls in with its number in From and "
                "PAI (no privacy); the Mediation side answers; 1 s; BYE. Both trunks trusted (see TC-ID-02).",
      expected="1) Toward the PSTN: no number in From, the PAI with the calling digits and Privacy: id. 2) Toward "
               "the Mediation side: the PAI with the caller's +E.164 number. Both calls complete.")
def test_forward_pai(sq):
    out_id, in_id = ident.pai_ids(sq)
    o, i = ident.out_withheld(sq), ident.in_with_pai(sq)
    ident.out_ident_call(sq, o, test_id=out_id, name="-out")
    ident.in_ident_call(sq, i, test_id=in_id, name="-in")
    trace = sq.finish()
    so, si = ident.out_spec(sq, o, out_id), ident.in_spec(sq, i, in_id)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=so, hangup_by="caller")
             + checks.withheld_caller(trace, spec=so, caller=n["outbound_caller"], plus=None, rule="ID-01",
                                      requirements=["ID-01"], severity="R")
             + checks.basic_call(trace, spec=si, hangup_by="caller")
             + checks.asserted_caller(trace, spec=si, caller=n["inbound_caller"], plus=_plus(sq), rule="ID-01",
                                      requirements=["ID-01"], severity="R"))


@case("TC-ID-06", "ForwardCallHistory=True: forwarded INVITE with History-Info and Referred-By accepted and mapped",
      requirements=["ID-02"],
      procedure="The Mediation side forwards a call for its user (the inbound number) to the outbound PSTN number: "
                "the INVITE carries History-Info (the Lync user with Reason cause 480, then the PSTN target, "
                "RFC 7044) and Referred-By naming the user; the far end answers; 1 s; BYE.",
      expected="The DUT routes the call (never 400/420/488); any Diversion / History-Info it sends on is valid; "
               "with PICS history_info the redirecting number (the Lync user) is named in it.")
def test_forwarded_history_info(sq):
    idn = ident.forwarded(sq)
    ident.out_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.out_spec(sq, idn)
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.history_mapped(trace, spec=spec, redirecting=ident.redirecting_number(sq),
                                     mapping_claimed=sq.profile.claims("history_info"), rule="ID-02",
                                     requirements=["ID-02"], severity="R"))


@case("TC-ID-07", "DUT forwards a diverted inbound call with Diversion / History-Info: syntax valid",
      requirements=["ID-07"],
      procedure="The far end calls the inbound number with a call the PSTN diverted once (Diversion with reason "
                "unconditional and counter 1, RFC 5806, and the same history as History-Info, RFC 7044); the "
                "Mediation side answers; 1 s; the far end hangs up.",
      expected="Every Diversion and History-Info the DUT sends to the Mediation side is valid (name-addr, reason, "
               "counter; History-Info indices); none at all is recorded.")
def test_diverted_syntax(sq):
    idn = ident.in_diverted(sq)
    ident.in_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.in_spec(sq, idn)
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.redirect_syntax(trace, spec=spec, rule="ID-07", requirements=["ID-07"], severity="O"))


@case("TC-NUM-02", "RemovePlusFromUri=True: no \"+\" in any URI user part", requirements=["NUM-04"],
      needs=["remove_plus"],
      procedure="1) The Mediation side calls out as Lync does with RemovePlusFromUri: Request-URI, To and From "
                "without the leading \"+\" (user=phone kept); the far end answers; 1 s; BYE. 2) The far end calls "
                "in with +E.164 numbers; the Mediation side answers; 1 s; BYE.",
      expected="1) The DUT routes the call with the called digits, and its responses keep Lync's To (no \"+\" "
               "added). 2) The DUT's INVITE to the Mediation side carries no \"+\" in the Request-URI, To, From "
               "or PAI user parts, the digits unchanged.")
def test_remove_plus(sq):
    out_id, in_id = ident.no_plus_ids(sq)
    o, i = ident.out_no_plus(sq), ident.in_e164(sq)
    ident.out_ident_call(sq, o, test_id=out_id, name="-out")
    ident.in_ident_call(sq, i, test_id=in_id, name="-in")
    trace = sq.finish()
    so, si = ident.out_spec(sq, o, out_id), ident.in_spec(sq, i, in_id)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=so, hangup_by="caller")
             + checks.to_kept_toward_caller(trace, spec=so, rule="NUM-04", requirements=["NUM-04"], severity="O")
             + checks.basic_call(trace, spec=si, hangup_by="caller")
             + checks.numbers_sent(trace, spec=si, called=n["inbound_called"], caller=n["inbound_caller"],
                                   plus=False, rule="NUM-04", requirements=["NUM-04"], severity="O"))


@case("TC-NUM-03", "Called/calling number translation rules applied; the DUT routes local formats",
      requirements=["NUM-03"], needs=["number_translation"],
      procedure="The Mediation side calls out with the numbers Lync's outbound translation rules produce: called "
                "+1425... -> 1425... (no \"+\"), calling +1 425... -> 425... (national); the far end answers; 1 s; "
                "BYE.",
      expected="The DUT routes both numbers unchanged, digit for digit (no \"+\" or prefix added: translation is "
               "not done on both sides); the call completes.")
def test_number_translation(sq):
    idn = ident.out_translated(sq)
    ident.out_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.out_spec(sq, idn)
    n = sq.pixit["numbers"]
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.numbers_sent(trace, spec=spec, called=ident.translated_called(n["outbound_called"]),
                                   caller=ident.translated_caller(n["outbound_caller"]), plus=False, rule="NUM-03",
                                   requirements=["NUM-03"], severity="M"))


@case("TC-NUM-04", "IN national / extension format (service-level dial plan normalises): informative",
      requirements=["NUM-02"],
      procedure="The far end calls the inbound number in national format (no \"+\", no country code) from a 4-digit "
                "extension; the Mediation side answers; 1 s; the far end hangs up.",
      expected="The call reaches the Mediation side; the formats the DUT sends (E.164 or local, phone-context) are "
               "recorded for the Lync dial plan.")
def test_in_national_format(sq):
    idn = ident.in_national(sq)
    ident.in_ident_call(sq, idn)
    trace = sq.finish()
    spec = ident.in_spec(sq, idn)
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller")
             + checks.formats_recorded(trace, spec=spec, rule="NUM-02", requirements=["NUM-02"]))
