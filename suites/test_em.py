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
