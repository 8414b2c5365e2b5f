"""Suite SEC: sipqual's own security extension (issue 15; not in the requirement catalogue, listed apart from the
126 Lync cases): trusted sources, no cleartext SIP on a TLS trunk, topology hiding, the TLS version floor."""

from sipqual import case, checks, flows


@case("TC-SEC-01", "INVITE from an address outside the Mediation pool refused (403 or silence)",
      requirements=["SEC-01"],
      procedure="From a second address of ours on the Mediation side (the pool address + 30, not a pool member) the "
                "Mediation side calls the outbound number on the DUT's trunk port (on TLS with the pool's valid "
                "certificate, so only the source is wrong); no far end listens; the caller waits 4 s at most.",
      expected="The DUT answers 403 Forbidden or nothing at all, and sends no INVITE toward the far side.")
def test_untrusted_source(sq):
    src = flows.sec.untrusted_call(sq)
    trace = sq.finish()
    sq.judge(checks.untrusted_source_refused(trace, test_id=sq.test_id, source_ip=src, dut_ip=sq.topo.ms.peer_ip,
                                             dut_far_ip=sq.topo.far.peer_ip))
