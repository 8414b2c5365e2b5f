"""Suite OPT: health probing between the Mediation Server and the DUT."""

from sipqual import case, checks, flows


@case("TC-OPT-01", "DUT answers OPTIONS with 200 and Allow/Supported", requirements=["OPT-01", "OPT-02"],
      severity="M", procedure="The Mediation side sends an out-of-dialog OPTIONS to the DUT's trunk port.",
      expected="A 200 OK on the same connection, carrying Allow and Supported.")
def test_options_answered(sq):
    flows.opt.options(sq)
    trace = sq.finish()
    sq.judge(checks.options_answered(trace, test_id=sq.test_id, our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip))
