"""The Mediation pool (issue 14): a DUT resolving the pool FQDN to several Mediation Servers (one A record each,
the lab's DNS server) fails over to the next member when one is out of service. N/A unless the profile claims DNS
load balancing (pics.dns_load_balancing: the lab then starts ms2 and the DNS server, sipqual/pool.py)."""

from sipqual import case, checks, flows


@case("TC-FO-07", "IN: Mediation A unreachable (no SYN-ACK/RST) -> retry on B; time to connect measured",
      requirements=["FO-06", "TRN-05"], needs=["dns_load_balancing"],
      procedure="The pool FQDN resolves to ms1 and ms2 (two A records, ms1 first). ms1's Mediation port drops the "
                "DUT's connection attempts (no SYN-ACK, no RST); the far end calls the inbound number; ms2 answers, "
                "streams G.711 for 1 s and hangs up.",
      expected="The DUT gives up on ms1 and sends the INVITE to ms2; the far caller gets 200 (no failure shown); "
               "RTP both ways; BYE relayed. The time from the far INVITE to the INVITE to ms2 is recorded.")
def test_pool_member_unreachable(sq):
    flows.pool.in_call_failover(sq, "unreachable")
    trace = sq.finish()
    spec = flows.pool.in_call_spec(sq, 2)
    sq.judge(checks.pool_failover(trace, spec=spec, first_ip=flows.pool.member_ip(sq, 1), failure="unreachable")
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


@case("TC-FO-08", "IN: Mediation A answers 503 -> retry on B",
      requirements=["FO-06"], needs=["dns_load_balancing"],
      procedure="The pool FQDN resolves to ms1 and ms2 (two A records, ms1 first). ms1 answers the DUT's INVITE "
                "503 Service Unavailable (no Retry-After); ms2 answers, streams G.711 for 1 s and hangs up.",
      expected="The DUT ACKs the 503 and sends the INVITE to ms2; the far caller gets 200, never the 503; RTP both "
               "ways; BYE relayed. The time from the 503 to the INVITE to ms2 is recorded.")
def test_pool_member_503(sq):
    flows.pool.in_call_failover(sq, "503")
    trace = sq.finish()
    spec = flows.pool.in_call_spec(sq, 2)
    sq.judge(checks.pool_failover(trace, spec=spec, first_ip=flows.pool.member_ip(sq, 1), failure="503")
             + checks.basic_call(trace, spec=spec, hangup_by="callee"))


@case("TC-FO-10", "OUT: INVITEs from both pool members accepted (any-member acceptance)",
      requirements=["TRN-05"], needs=["dns_load_balancing"],
      procedure="ms1 (192.0.2.10) and ms2 (192.0.2.11), the pool's two members, each place an OUT call at the "
                "same time from their own address (to the outbound number and to another PSTN number); the far end "
                "answers both; each streams G.711 for 1 s and hangs up.",
      expected="The DUT accepts both INVITEs (200 OK), relays each call to the far end with RTP both ways, and "
               "clears both.")
def test_pool_members_both_accepted(sq):
    flows.pool.out_calls_from_members(sq)
    trace = sq.finish()
    found = []
    for member in (1, 2):
        spec = flows.pool.out_call_spec(sq, member)
        found += checks.member_accepted(trace, spec=spec, member=f"ms{member}")
        found += checks.basic_call(trace, spec=spec, hangup_by="caller")
    sq.judge(found)


@case("TC-OPT-04", "Mediation A stops answering OPTIONS -> DUT stops routing to A, resumes after recovery",
      requirements=["OPT-04", "FO-06"], needs=["dns_load_balancing", "options_ping"],
      procedure="ms1, the pool FQDN's first A record, leaves the DUT's OPTIONS unanswered; 2.5 s after the DUT's next "
                "ping to it went unanswered the far end calls (ms2 answers). Then ms1 answers OPTIONS again; after "
                "the DUT's next ping to it was answered, the far end calls again (ms1 answers).",
      expected="The first call goes to ms2, never to the silent ms1; the second goes to ms1 again.")
def test_silent_member_avoided_then_used(sq):
    flows.pool.silent_member_avoided_then_used(sq)
    trace = sq.finish()
    sq.judge(checks.silent_member_avoided(trace, spec=flows.pool.in_call_spec(sq, 2),
                                          silent_ip=flows.pool.member_ip(sq, 1), other_ip=flows.pool.member_ip(sq, 2)))
