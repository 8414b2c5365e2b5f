"""Suite FO, the far side's failures (issue 14): what the DUT tells the Mediation side when its PSTN side has no
circuit, is out of service, or is full, how it maps the PSTN's causes, and that a call Lync gives up on (fast
failover) frees its channel. Failover between Mediation pool members (TC-FO-07..10) needs the pool lab."""

from sipqual import case, checks, flows


@case("TC-FO-01", "OUT call, PSTN has no circuit (cause 34): DUT answers 503 with Reason Q.850;cause=34",
      requirements=["FO-01", "FO-03"],
      procedure="Mediation side calls the outbound number; the far end answers 503 Service Unavailable with Reason "
                "Q.850;cause=34, as a PSTN switch with no free circuit.",
      expected="DUT answers the Mediation side 503 (a resource reason: Lync retries another gateway; not 486, 500 or "
               "502) carrying Reason: Q.850;cause=34 (FO-03), and ACKs the far end's 503.")
def test_no_circuit(sq):
    flows.fo.no_circuit(sq)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.out_call_spec(sq), status=503, cause=34,
                                  reason_required=True, rule="FO-01"))


@case("TC-FO-02", "OUT call while the trunk is out of service: DUT answers 503, never 502",
      requirements=["FO-02"],
      procedure="The far side is out of service: nothing answers at the far peer's address. Mediation side calls the "
                "outbound number and waits up to 40 s for a final response. Then the far side is back and a short "
                "call is placed.",
      expected="DUT answers 503 (Lync fails over to another gateway on 503; Microsoft notes failover does not work "
               "with the 502 an Alcatel OXE sent for a T1 out of service); never 502, 408, 500, 504 or silence. Once "
               "the far side is back, a new call is answered. Recorded: time to the 503, Reason and Retry-After.")
def test_trunk_out_of_service(sq):
    flows.fo.trunk_out_of_service(sq)
    trace = sq.finish()
    ids = flows.fo.trunk_down_ids(sq)
    sq.judge(checks.trunk_down_rejected(trace, spec=flows.calls.out_call_spec(sq), down_id=ids["down"],
                                        up_id=ids["up"]))


@case("TC-FO-03", "OUT call beyond the DUT's channel capacity gets 503 promptly",
      requirements=["CAP-01", "FO-01"],
      procedure="Mediation side places as many OUT calls as the DUT's declared capacity (PICS max_concurrent_calls); "
                "the far end answers and holds them; then one more call.",
      expected="Every call up to the capacity is answered; the one beyond it gets 503 within 2 s (Lync retries "
               "another gateway at once), not 486/480/500/502 and not sent on to the far end. Recorded: Retry-After "
               "and Reason.")
def test_capacity_overflow(sq):
    limit = flows.fo.capacity(sq)
    flows.fo.at_capacity(sq, limit)
    trace = sq.finish()
    sq.judge(checks.capacity_overflow(trace, spec=flows.calls.out_call_spec(sq), limit=limit,
                                      overflow_id=flows.fo.overflow_id(sq)))


@case("TC-FO-04", "OUT calls rejected with each PSTN cause: the cause-to-response table is recorded",
      requirements=["FO-01", "RFC3326-02", "FO-04", "FO-03"],
      procedure="Mediation side places one OUT call after another; the far end rejects each with the SIP status "
                "RFC 3398 gives a Q.850 cause and Reason Q.850;cause=N, for causes 1, 16, 17, 18, 19, 21, 27, 28, "
                "34, 38, 41, 42, 47, 127.",
      expected="Recorded: the status and cause the DUT sent the Mediation side for each. Judged: causes 34/38/41/42 "
               "give 503, 17 gives 486, 1 gives 404 (FO-01), and every response carries the far end's cause in "
               "Reason: Q.850 (FO-03).")
def test_cause_mapping(sq):
    flows.fo.cause_table(sq)
    trace = sq.finish()
    sq.judge(checks.cause_mapping(trace, spec=flows.calls.out_call_spec(sq),
                                  table=[list(row) for row in flows.fo.CAUSE_TABLE]))


@case("TC-FO-05", "OUT call to a slow PSTN (15 s to alert): DUT still sends an 18x within 10 s",
      requirements=["SIG-02"],
      procedure="Mediation side calls the outbound number; the far end answers 100 Trying and alerts (180) only after "
                "15 s. The Mediation side acts as Lync's fast-failover timer: it cancels 200 ms after the first 18x, "
                "or 10 s after its INVITE when none came.",
      expected="DUT sends the Mediation side an 18x (180 or 183) within 10 s of the INVITE although the far end has "
               "not alerted (else Lync cancels and reroutes every call to a slow PSTN destination). Recorded: which "
               "18x, when.")
def test_slow_alerting(sq):
    flows.fo.slow_alerting(sq)
    trace = sq.finish()
    sq.judge(checks.progress_despite_slow_alerting(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-FO-06", "OUT call cancelled by Lync's fast-failover timer frees the channel",
      requirements=["FO-05"],
      procedure="Mediation side calls the outbound number; the far end rings and never answers; the Mediation side "
                "cancels as Lync's 10 s fast-failover timer does (quick profile: 1.5 s after the ringing, full: 9 s). "
                "Then a new OUT call, which the far end answers.",
      expected="DUT answers the CANCEL 200 and the INVITE 487, cancels the far leg (releasing the PSTN channel) and "
               "ACKs its 487; the next call goes through and is answered.")
def test_fast_failover_cancel(sq):
    flows.fo.cancel_then_call(sq)
    trace = sq.finish()
    spec = flows.calls.out_call_spec(sq)
    sq.judge(checks.call_cancelled(trace, spec=spec)
             + checks.channel_freed(trace, spec=spec, after_id=flows.fo.after_id(sq)))
