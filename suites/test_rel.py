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


@case("TC-REL-02", "With 100rel supported by the suite: RSeq/RAck/PRACK correct; the reliable 18x retransmitted "
      "while the PRACK is withheld", requirements=["RFC3262-02", "RFC3262-03"], needs=["prack"],
      procedure="OUT call: the Mediation side's INVITE says Supported: 100rel; the far end rings reliably (180, "
                "Require: 100rel, RSeq 1, retransmitted until PRACKed). The Mediation side withholds its PRACK until "
                "two retransmissions of the reliable 180 came (at most 3 s for each), then PRACKs it (RAck: RSeq 1 "
                "INVITE); the far end answers; 1 s of media; the Mediation side hangs up.",
      expected="The DUT's reliable 18x carries Require: 100rel and an RSeq in 1..2^31-1, is retransmitted at T1 "
               "doubling (0.5 s, 1 s) while unacknowledged and not after the PRACK's 200; the PRACK is answered "
               "200; the call completes and the BYE is relayed.")
def test_reliable_provisional(sq):
    flows.rel.out_call_prack_withheld(sq)
    trace = sq.finish()
    sq.judge(checks.reliable_provisional(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-REL-03", "UPDATE with and without SDP in a confirmed dialog; 491 on glare",
      requirements=["SIG-06", "RFC3311-01", "RFC3311-02", "RFC3311-03"],
      procedure="OUT call; once it is up the Mediation side sends an UPDATE without SDP, then one with an SDP "
                "offer. The far end then sends an UPDATE with an offer; before answering it the Mediation side "
                "sends its own UPDATE with an offer (glare; the far end answers that one 491), then answers the "
                "far end's UPDATE and hangs up.",
      expected="200 to the UPDATE without SDP; 200 with an SDP answer to the UPDATE with an offer; the far end's "
               "UPDATE passed on; 491 to the crossing UPDATE (relayed or the DUT's own, recorded); the BYE relayed.")
def test_update_in_dialog(sq):
    flows.rel.out_call_updates(sq)
    trace = sq.finish()
    sq.judge(checks.update_in_dialog(trace, spec=flows.calls.out_call_spec(sq)))
