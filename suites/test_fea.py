"""Suite FEA: features Lync users reach through the trunk: forwarding and simultaneous ring back out to the PSTN,
conference dial-out, dial-in conferencing with a DTMF PIN, escalation to a conference, voicemail with a DTMF menu."""

from sipqual import case, checks, flows


@case("TC-FEA-03", "Lync conference dial-out to a PSTN participant", requirements=["MED-01", "MED-02"],
      procedure="The Mediation side (Lync's conferencing, AVMCU) calls the outbound number; the far end (the PSTN "
                "participant) answers; 1.5 s of G.711 both ways; the Mediation side hangs up (the conference ends).",
      expected="DUT routes the dial-out, answers with G.711 from the offer, relays RTP both ways on both legs, relays "
               "the BYE and its 200.")
def test_conference_dial_out(sq):
    flows.fea.conference_dial_out(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.out_call_spec(sq), hangup_by="caller"))


@case("TC-FEA-04", "PSTN dial-in conferencing: the PIN keyed as RFC 4733 DTMF reaches the conference",
      requirements=["MED-03"],
      procedure="The far end calls the inbound number (a Lync dial-in conferencing number); the Mediation side "
                "answers; the far caller keys the PIN 2580# as RFC 4733 telephone-events (PT 101, 100 ms per "
                "digit, end packet three times), then streams G.711; the Mediation side hangs up a second later.",
      expected="DUT relays every digit to the Mediation side in order as RFC 4733 events, each with its end packet "
               "(E bit) and a duration of at least 40 ms and half the caller's; the call completes, BYE relayed.")
def test_dial_in_conference_pin(sq):
    flows.fea.dtmf_in_call(sq, flows.fea.PIN_DIGITS)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.ivr_digits(trace, spec=spec, digits=flows.fea.PIN_DIGITS)
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


@case("TC-FEA-05", "Escalation of a PSTN call to a conference by re-INVITE (REFER disabled)",
      requirements=["XFR-02"],
      procedure="The Mediation side calls the outbound number; after 1 s of media it holds (re-INVITE a=sendonly) "
                "while the conference is set up and 0.8 s later moves the call to the conference (re-INVITE "
                "a=sendrecv offering another media port); 1 s of media; the Mediation side hangs up.",
      expected="DUT answers the hold a=recvonly (or inactive) and the move a=sendrecv; after the move its RTP "
               "toward the Mediation side goes to the conference's new port; RTP both ways; BYE relayed.")
def test_escalation_to_conference(sq):
    flows.fea.escalate_to_conference(sq)
    trace = sq.finish()
    sq.judge(checks.conference_escalation(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-FEA-06", "Unanswered inbound call to Lync voicemail (Exchange UM): DTMF menu navigation",
      requirements=["MED-03"],
      procedure="The far end calls the inbound number; the Mediation side rings for a second (the Lync user does "
                "not answer) and answers as Exchange UM; the far caller keys *1 as RFC 4733 telephone-events, then "
                "streams G.711; the Mediation side hangs up a second later.",
      expected="DUT passes the 180 and the 200 on, relays both digits to the Mediation side in order as RFC 4733 "
               "events with end packets and full durations; the call completes, BYE relayed.")
def test_voicemail_dtmf_menu(sq):
    flows.fea.dtmf_in_call(sq, flows.fea.MENU_DIGITS, voicemail=True)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.ivr_digits(trace, spec=spec, digits=flows.fea.MENU_DIGITS)
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


def _second_call(sq):
    """The Mediation side's call back out to the PSTN (the outbound number) and the call history it carries."""
    n = sq.pixit["numbers"]
    return flows.calls.out_call_spec(sq), {"diverter": n["inbound_called"], "caller": n["inbound_caller"]}


@case("TC-FEA-01", "Lync call forwarding to the PSTN: inbound PSTN -> Lync -> outbound PSTN via the DUT",
      requirements=["ID-02", "NUM-05"],
      procedure="The far end calls the inbound number; the Mediation side rings and answers a second later; 0.5 s "
                "after the inbound call reached it, it forwards: a second call to the outbound number on behalf of "
                "the original caller, with History-Info (the Lync user's number as index 1, the target as 1.1, a "
                "302 Reason) and Diversion (reason=unconditional); the far end answers; 1.5 s of media on each "
                "call; the Mediation side hangs up both.",
      expected="Both calls go through the DUT and complete (G.711 both ways on both legs of each, BYEs relayed); "
               "the DUT accepts the forwarded INVITE (no 400/420/488) and passes the forwarding number on as "
               "History-Info or Diversion; the calling number it presents to the PSTN is recorded.")
def test_forwarding_to_pstn(sq):
    flows.fea.forwarded_to_pstn(sq)
    trace = sq.finish()
    out_spec, history = _second_call(sq)
    sq.judge(checks.basic_call(trace, spec=flows.calls.in_call_spec(sq), hangup_by="callee")
             + checks.basic_call(trace, spec=out_spec, hangup_by="caller")
             + checks.call_history_passed(trace, spec=out_spec, **history))


@case("TC-FEA-02", "Simultaneous ring to a PSTN mobile; the losing leg cancelled cleanly",
      requirements=["SIG-04", "ID-02"],
      procedure="The far end calls the inbound number; the Mediation side rings; 0.3 s after the inbound call "
                "reached it, it also calls the outbound number (the user's mobile) with History-Info; the mobile "
                "rings; the Mediation side answers the inbound call a second after it arrived and cancels the "
                "mobile's leg 0.9 s after its 180 (Reason: call completed elsewhere); 1.5 s of media; the Mediation "
                "side hangs up.",
      expected="The inbound call completes (G.711 both ways, BYE relayed); on the losing leg the DUT answers our "
               "CANCEL 200 and the INVITE 487, cancels the mobile's leg and ACKs its 487; it accepts the "
               "simultaneous-ring INVITE with History-Info and passes the Lync user's number on.")
def test_simultaneous_ring(sq):
    flows.fea.simultaneous_ring(sq)
    trace = sq.finish()
    out_spec, history = _second_call(sq)
    sq.judge(checks.basic_call(trace, spec=flows.calls.in_call_spec(sq), hangup_by="callee")
             + checks.call_cancelled(trace, spec=out_spec)
             + checks.call_history_passed(trace, spec=out_spec, **history))
