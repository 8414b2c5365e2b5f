"""Suite REL: reliable provisional responses (RFC 3262) toward the Mediation side."""

from sipqual import case, checks, flows


@case("TC-REL-01", "DUT never requires 100rel toward the Mediation side; reliable 18x only if the suite supports it",
      requirements=["SIG-05", "RFC3262-01", "RFC3262-04"],
      procedure="IN call: the far caller's INVITE says Supported: 100rel, replaces; the Mediation side answers "
                "(180, 200; it supports no extension) and hangs up after 0.5 s. OUT call: the Mediation side's "
                "INVITE says Supported: replaces (no 100rel); the far end rings (180) and answers; the Mediation "
                "side hangs up after 0.5 s.",
      expected="The DUT's INVITE to the Mediation side carries no Require: 100rel (nor Proxy-Require); no "
               "provisional response from the DUT to the Mediation side's INVITE is reliable (no Require: 100rel, "
               "no RSeq).")
def test_no_100rel_toward_mediation(sq):
    flows.rel.calls_without_100rel(sq)
    trace = sq.finish()
    sq.judge(checks.no_100rel_toward_mediation(trace, in_spec=flows.calls.in_call_spec(sq),
                                               out_spec=flows.calls.out_call_spec(sq)))
