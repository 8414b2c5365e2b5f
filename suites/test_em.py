"""Suite EM: early media (RFC 3960), DTMF and ringing during early media, forked early dialogs, early media then
CANCEL."""

from sipqual import case, checks, flows


@case("TC-EM-01", "OUT: the DUT sends 183 with SDP and RTP before the 200; the 200's SDP equals the 183's",
      requirements=["SIG-03", "RFC3960-01"],
      procedure="Mediation side calls the outbound number; the far end answers 183 Session Progress with SDP and "
                "plays 1 s of RTP (an announcement), then answers 200 with the same SDP; 1.5 s of media both ways; "
                "the Mediation side hangs up.",
      expected="On the Mediation leg the DUT sends a 183 with SDP, relays the far end's RTP before its 200, and its "
               "200 carries the 183's SDP again (same o= version, address and port); the call then completes.")
def test_out_early_media(sq):
    flows.em.out_early_media(sq)
    trace = sq.finish()
    spec = flows.calls.out_call_spec(sq)
    sq.judge(checks.early_media(trace, spec=spec) + checks.basic_call(trace, spec=spec, hangup_by="caller"))


@case("TC-EM-07", "IN: early media from the Mediation side, then CANCEL from the far caller",
      requirements=["RFC3261-09"],
      procedure="The far end calls the inbound number; the Mediation side answers 183 with SDP and plays RTP (early "
                "media) without answering; one second after the 183 reached it, the far caller sends CANCEL.",
      expected="DUT relays the 183 with SDP and the early RTP to the caller; it answers the CANCEL with 200 and the "
               "INVITE with 487, sends CANCEL to the Mediation side on its INVITE's branch and ACKs its 487.")
def test_in_early_media_cancelled(sq):
    flows.em.in_early_media_cancelled(sq)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.call_cancelled(trace, spec=spec, release_req="RFC3261-09")
             + checks.early_media(trace, spec=spec, answered=False))


@case("TC-EM-04", "IN: three forked early dialogs (183 with SDP each, different To tags), answered on the second",
      requirements=["SIG-04", "BYP-01"],
      procedure="The far end calls the inbound number; the Mediation side answers the DUT's INVITE like Lync's "
                "simultaneous ring: three 183s with SDP, each with its own To tag and media port, then 200 on the "
                "second fork with that fork's SDP; 1.5 s of media both ways; the Mediation side hangs up.",
      expected="DUT keeps the early dialogs apart: it ACKs the 200 in the second fork's dialog (its To tag), never "
               "in another fork's; a proxy passes each fork on to the caller under its own tag; after the answer "
               "its RTP goes to the second fork's SDP; the call completes and the BYE is relayed.")
def test_in_forked_early_dialogs(sq):
    flows.em.in_forked(sq, forks=3)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.forked_early_dialogs(trace, spec=spec, forks=3)
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


@case("TC-EM-02", "OUT: PSTN announcement in early media and DTMF (RFC 4733) from the Mediation side reach the IVR",
      requirements=["SIG-03", "MED-03"],
      procedure="Mediation side calls the outbound number; the far end (an IVR) answers 183 with SDP and plays an "
                "announcement (RTP) for 1.5 s; as soon as the 183 reached it the Mediation side sends the digits 1 "
                "and 2 as RFC 4733 telephone-events (PT 101); then the far end answers 200; 1.5 s of media; the Mediation side "
                "hangs up.",
      expected="DUT relays the announcement to the Mediation side before the 200 (183 with SDP) and the DTMF "
               "events, digits 1 and 2 in order, to the far end during early media, as RFC 4733 events in the "
               "telephone-event payload type the far end's SDP gave.")
def test_out_early_media_dtmf(sq):
    flows.em.out_early_media(sq, early_ms=1500, dtmf=True)
    trace = sq.finish()
    spec = flows.calls.out_call_spec(sq)
    sq.judge(checks.early_media(trace, spec=spec) + checks.early_dtmf(trace, spec=spec, digits=flows.em.DTMF_DIGITS)
             + checks.basic_call(trace, spec=spec, hangup_by="caller"))


@case("TC-EM-03", "OUT: 180 without SDP after a 183 with SDP (local ringback): no SDP in the DUT's 180",
      requirements=["SIG-07"],
      procedure="Mediation side calls the outbound number; the far end answers 183 with SDP and plays 1 s of RTP, "
                "then sends 180 Ringing without SDP and answers 200 0.3 s later (same SDP as the 183); 1.5 s of "
                "media; the Mediation side hangs up.",
      expected="Recorded: whether the DUT passes the 180 on. Flagged: a 180 with SDP from the DUT after its 183 "
               "with SDP (Exchange UM/UCMA mishandle it). The early media and the call work as in TC-EM-01.")
def test_out_ringing_after_early_media(sq):
    flows.em.out_early_media(sq, ringing=True)
    trace = sq.finish()
    spec = flows.calls.out_call_spec(sq)
    sq.judge(checks.ringing_after_early_media(trace, spec=spec) + checks.early_media(trace, spec=spec)
             + checks.basic_call(trace, spec=spec, hangup_by="caller"))


@case("TC-EM-05", "IN: twenty forked early dialogs (MaxEarlyDialogs default), answered on the second",
      requirements=["SIG-04", "CFG-06"],
      procedure="As TC-EM-04 with 20 early dialogs (183 with SDP each, own To tag), Lync's default "
                "MaxEarlyDialogs; 200 on the second fork; 1.5 s of media; the Mediation side hangs up.",
      expected="DUT survives and keeps the 20 early dialogs apart: ACK in the second fork's dialog only, RTP to its "
               "SDP, every fork passed on where it passes the callee's tags through; the call completes and the BYE "
               "is relayed.")
def test_in_twenty_forked_early_dialogs(sq):
    flows.em.in_forked(sq, forks=20)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.forked_early_dialogs(trace, spec=spec, forks=20)
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


@case("TC-EM-06", "IN: Lync simultaneous ring to a PSTN IVR: early media of the second fork cut through to the "
      "caller", requirements=["SIG-03", "ID-02"],
      procedure="The far end calls the inbound number; the Mediation side forks three early dialogs (183 with SDP "
                "each); the second (a simultaneous-ring leg to a PSTN IVR) plays 1 s of RTP before it answers 200 "
                "with its SDP; 1.5 s of media; the Mediation side hangs up.",
      expected="DUT passes the early dialogs on and the second fork's early RTP to the caller before the 200; the "
               "200 repeats that fork's SDP; ACK and RTP in the second fork after the answer; BYE relayed. "
               "(ID-02's History-Info on forwarded calls is not judged here.)")
def test_in_forked_early_media(sq):
    flows.em.in_forked(sq, early_rtp=True)
    trace = sq.finish()
    spec = flows.calls.in_call_spec(sq)
    sq.judge(checks.early_media(trace, spec=spec) + checks.forked_early_dialogs(trace, spec=spec, forks=3)
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))
