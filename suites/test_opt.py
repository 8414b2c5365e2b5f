"""Suite OPT: health probing between the Mediation Server and the DUT."""

from sipqual import case, checks, flows


@case("TC-OPT-01", "DUT answers OPTIONS with 200 and Allow/Supported", requirements=["OPT-01", "OPT-02"],
      severity="M", procedure="The Mediation side sends an out-of-dialog OPTIONS to the DUT's trunk port.",
      expected="A 200 OK on the same connection, carrying Allow and Supported.")
def test_options_answered(sq):
    flows.opt.options(sq)
    trace = sq.finish()
    sq.judge(checks.options_answered(trace, test_id=sq.test_id, our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip))


@case("TC-OPT-03", "DUT originates OPTIONS to the Mediation side; interval and format recorded",
      requirements=["OPT-03"], needs=["options_ping"],
      procedure="Nothing is sent: the Mediation front answers the DUT's OPTIONS pings; the case waits until three "
                "pings reached the Mediation port on this transport (at most 10 s).",
      expected="Out-of-dialog OPTIONS from the DUT to the Mediation port, each with Max-Forwards, a z9hG4bK Via "
               "branch, a From tag and CSeq OPTIONS; the interval between them is recorded.")
def test_options_pings(sq):
    flows.opt.await_pings(sq)
    trace = sq.finish()
    sq.judge(checks.options_pings(trace, dut_ip=sq.topo.ms.peer_ip, ms_ip=sq.topo.ms.ip, ms_port=sq.ms_port))


@case("TC-OPT-05", "OPTIONS inside a dialog and with Max-Forwards 0 handled", requirements=["OPT-02"],
      procedure="Mediation side calls the outbound number; the far end answers; after 1 s of media the Mediation "
                "side sends an in-dialog OPTIONS, then BYE; then an out-of-dialog OPTIONS with Max-Forwards: 0 "
                "addressed to the DUT.",
      expected="The in-dialog OPTIONS gets a final response and the call goes on (BYE answered 200); the "
               "Max-Forwards 0 OPTIONS is answered 483 (or 200 by the DUT itself), never forwarded, never ignored.")
def test_options_in_dialog_and_mf0(sq):
    flows.opt.in_dialog_and_mf0(sq)
    trace = sq.finish()
    sq.judge(checks.options_in_dialog(trace, spec=flows.calls.out_call_spec(sq), mf0_id=flows.opt.mf0_id(sq)))


@case("TC-OPT-02", "OPTIONS while the DUT's PSTN side is down answered with the code an INVITE gets",
      requirements=["OPT-02"],
      procedure="The far side is down (no far-end agent runs). The Mediation side calls the outbound number and "
                "takes whatever final response comes (40 s at most), then sends an out-of-dialog OPTIONS to the "
                "DUT. Then the far end comes back: a short OUT call it answers, and another OPTIONS.",
      expected="While the far side is down the OPTIONS gets the same status code as the INVITE (e.g. 503 both), "
               "never 200 while calls are refused; once the far side is back both get a 2xx (or neither).")
def test_options_while_far_side_down(sq):
    flows.opt.options_while_far_down(sq)
    trace = sq.finish()
    t = sq.topo
    sq.judge(checks.options_like_invite(trace, our_ip=t.ms.ip, dut_ip=t.ms.peer_ip, ids=flows.opt.far_down_ids(sq),
                                        dut_far_ip=t.far.peer_ip, far_ip=t.far.ip))
