"""Suite BAS, failures and timing: calls the far end or Lync rejects, with the right response and cause, and how
promptly the DUT reports call progress."""

from sipqual import case, checks, flows


@case("TC-BAS-08", "OUT call to an unallocated number is rejected with 404 and Q.850 cause 1",
      requirements=["FO-01", "FO-03"],
      procedure="Mediation side calls the outbound number; the far end answers 404 Not Found with Reason "
                "Q.850;cause=1, as a PSTN switch reports an unallocated number.",
      expected="DUT passes 404 back to the Mediation side (not 503, which makes Lync retry another gateway) with a "
               "Reason: Q.850;cause=1 (FO-03, R), and ACKs the far end's 404.")
def test_out_call_unallocated(sq):
    flows.bas.out_call_rejected(sq, status=404, cause=1)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.out_call_spec(sq), status=404, cause=1,
                                  reason_required=True))


@case("TC-BAS-10", "IN call declined by Lync (603) clears the PSTN caller with a final non-2xx",
      requirements=["FO-03"],
      procedure="The far end calls the inbound number; the Mediation side answers the DUT's INVITE with 603 "
                "Decline and Reason Q.850;cause=21 (call rejected).",
      expected="DUT ACKs the 603 and sends the far caller a final 4xx/6xx (603 or a mapped rejection; never 2xx, "
               "never a 5xx that reads as a network failure, never silence).")
def test_in_call_declined(sq):
    flows.bas.in_call_rejected(sq, status=603, cause=21)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.in_call_spec(sq), status=603, accept=["4xx", "6xx"],
                                  cause=21, rule="FO-03"))


@case("TC-BAS-11", "IN call to a number no Lync user has (404) clears the PSTN caller as unallocated",
      requirements=["NUM-01"],
      procedure="The far end calls the inbound number; the Mediation side answers the DUT's INVITE with 404 Not "
                "Found and Reason Q.850;cause=1, as Lync does for a number its reverse number lookup does not find.",
      expected="DUT ACKs the 404 and sends the far caller 404 or 604 (Q.850 cause 1, unallocated number; a Q.850 "
               "Reason, if any, with cause 1), never 2xx, 5xx or silence.")
def test_in_call_unknown_number(sq):
    flows.bas.in_call_rejected(sq, status=404, cause=1)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.in_call_spec(sq), status=404, accept=[404, 604],
                                  cause=1, rule="NUM-01"))


@case("TC-BAS-12", "100 Trying within 200 ms and 18x within the 10 s fast-failover window",
      requirements=["SIG-01", "SIG-02"],
      procedure="Mediation side calls the outbound number; the far end answers 100 and rings (180) at once; 200 ms "
                "after the 180 reached it the Mediation side cancels.",
      expected="On the Mediation-side leg the DUT's 100 Trying follows our INVITE within 200 ms (SIG-01) and its "
               "18x within 10 s (SIG-02; Lync's fast failover timer cancels a call without 18x at 10 s).")
def test_out_call_progress_timing(sq):
    flows.bas.out_call_cancelled(sq, ring_ms=200)
    trace = sq.finish()
    sq.judge(checks.call_progress(trace, spec=flows.calls.out_call_spec(sq), trying_ms=200, progress_s=10))


@case("TC-BAS-09", "OUT call nobody answers ends with 408/480 (never 503) on the DUT's no-answer timer",
      requirements=["FO-01"],
      procedure="Mediation side calls the outbound number; the far end rings (180) and never answers; the Mediation "
                "side waits up to 30 s after the ringing for the DUT to end the call, else it cancels.",
      expected="The DUT's no-answer timer ends the call with 408 or 480 to the Mediation side (a 503 makes Lync retry "
               "another gateway) and CANCELs the far leg; a DUT whose timer is longer than 30 s is recorded as such.")
def test_out_call_no_answer(sq):
    flows.bas.out_call_no_answer(sq)
    trace = sq.finish()
    sq.judge(checks.call_no_answer(trace, spec=flows.calls.out_call_spec(sq), accept=[408, 480], bound_s=30))


@case("TC-BAS-15", "IN delayed-offer INVITE (no SDP): what the DUT offers Lync is recorded; the call completes",
      requirements=["SIG-08"],
      procedure="The far end calls the inbound number with an INVITE without SDP; the Mediation side answers (its "
                "200 carries an offer, or the answer to the DUT's own offer); the far end answers in its ACK; both "
                "stream G.711 for 1.5 s; the Mediation side hangs up.",
      expected="Recorded: whether the DUT's INVITE to the Mediation side carries an offer or stays delayed. The call "
               "completes: an offer in the DUT's 200 to the far end, the answer carried to the Mediation side, RTP "
               "both ways on both legs, BYE relayed.")
def test_in_call_delayed_offer(sq):
    flows.bas.in_call_delayed_offer(sq)
    trace = sq.finish()
    sq.judge(checks.delayed_offer_call(trace, spec=flows.calls.in_call_spec(sq)))
