"""Suite BAS: calls that end before they are answered, in the OUT direction (Mediation side -> DUT -> far end)."""

from sipqual import case, checks, flows


@case("TC-BAS-05", "OUT call cancelled by the Mediation side before answer",
      requirements=["RFC3261-09", "FO-05"], severity="M",
      procedure="Mediation side calls the outbound number; the far end rings (180) and never answers; one second "
                "after the 180 reached it, the Mediation side sends CANCEL.",
      expected="DUT answers the CANCEL with 200 and the INVITE with 487, never connects the call, and releases the "
               "far leg (CANCEL to the far end).")
def test_out_call_cancelled(sq):
    flows.bas.out_call_cancelled(sq)
    trace = sq.finish()
    sq.judge(checks.call_cancelled(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-BAS-07", "OUT call to a busy PSTN number is rejected with 486, not 503",
      requirements=["FO-01"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers 486 Busy Here with Reason "
                "Q.850;cause=17, as a PSTN switch reports a busy subscriber.",
      expected="DUT passes 486 back to the Mediation side (a 503 would make Lync retry another gateway) and "
               "completes both transactions.")
def test_out_call_busy(sq):
    flows.bas.out_call_busy(sq)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.out_call_spec(sq), status=486))
