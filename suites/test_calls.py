"""Suites TRN and BAS: basic G.711 calls in both directions through the DUT."""

from sipqual import case, checks, flows


@case("TC-TRN-01", "OUT call to the DUT's trunk port; Mediation side hangs up",
      requirements=["TRN-01", "TRN-02", "MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="Mediation side calls the outbound number on the DUT's trunk port (PCMU, PCMA offered); the far "
                "end answers; both stream G.711 for 2 s; the Mediation side sends BYE.",
      expected="DUT relays the call, 200 with a G.711 answer on the Mediation leg, RTP both ways on both legs "
               "through the DUT, BYE answered and relayed.")
def test_out_call(sq):
    flows.calls.out_call(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.out_call_spec(sq), hangup_by="caller"))


@case("TC-TRN-02", "IN call to the Mediation port; Mediation side answers and hangs up",
      requirements=["TRN-01", "TRN-03", "MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="The far end calls the inbound number through the DUT; the Mediation side answers on its "
                "listening port (5068 TCP / 5067 TLS), streams G.711 for 2 s and sends BYE.",
      expected="DUT sends the INVITE over TCP/TLS to the Mediation port, RTP both ways on both legs, BYE relayed "
               "to the far end.")
def test_in_call(sq):
    flows.calls.in_call(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.in_call_spec(sq), hangup_by="callee"))
