"""Suite XFR: transfers. With REFER disabled Lync moves the media of the call it keeps by re-INVITE (with an offer,
or 3pcc without SDP); a DUT-side user's transfer must not rely on REFER toward the Mediation side."""

from sipqual import case, checks, flows


@case("TC-XFR-04", "REFER disabled: Lync transfers by re-INVITE moving the media to the target's endpoint (hairpin)",
      requirements=["XFR-02", "BYP-04"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers; after 1.5 s of RTP both ways the "
                "Mediation side sends a re-INVITE whose SDP offer names another media port (the transfer target's "
                "endpoint), 1.5 s later BYE. The far end answers every re-INVITE and streams all call long.",
      expected="DUT answers the re-INVITE 200; its RTP toward the Mediation side goes to the new port within 1 s of "
               "that 200 and no longer to the old one; RTP both ways until the BYE, which is answered and relayed.")
def test_lync_transfers_by_reinvite(sq):
    flows.xfr.lync_retargets(sq, retarget="offer")
    trace = sq.finish()
    sq.judge(checks.media_retarget(trace, spec=flows.calls.out_call_spec(sq), mode="offer", severity="M"))


@case("TC-XFR-05", "Enable3pccRefer: 3pcc transfer (re-INVITE without SDP, answer in the ACK) moves the media",
      requirements=["XFR-02"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers; after 1.5 s of RTP both ways the "
                "Mediation side sends a re-INVITE without SDP, takes the offer in the DUT's 200 and answers it in the "
                "ACK with another media port (the transfer target's endpoint, RFC 3725 flow I); 1.5 s later BYE.",
      expected="DUT answers the re-INVITE 200 with an SDP offer; its RTP toward the Mediation side goes to the port in "
               "our ACK within 1 s of the ACK and no longer to the old one; RTP both ways until the BYE, answered and "
               "relayed.")
def test_lync_transfers_by_3pcc(sq):
    flows.xfr.lync_retargets(sq, retarget="3pcc")
    trace = sq.finish()
    sq.judge(checks.media_retarget(trace, spec=flows.calls.out_call_spec(sq), mode="3pcc", severity="M"))


@case("TC-XFR-07", "DUT-side user transfers a Lync call: no REFER toward the Mediation side; the call completes",
      requirements=["SIG-09"], severity="R",
      procedure="The far end calls the inbound number; the Mediation side answers; after 1.5 s of RTP both ways the "
                "far caller (the PBX behind the DUT) transfers the call by re-INVITE moving its media to another "
                "port (the transfer target's endpoint); 1.5 s later it hangs up. The Mediation side answers "
                "whatever re-INVITE the DUT sends it.",
      expected="No REFER from the DUT toward the Mediation side; the DUT answers the far end's re-INVITE 200 and its RTP "
               "toward the far end goes to the new port within 1 s; RTP both ways until the BYE, relayed. Recorded "
               "whether the DUT passed the transfer on as a re-INVITE or absorbed it in its media anchor.")
def test_dut_side_user_transfers(sq):
    flows.xfr.far_retargets(sq)
    trace = sq.finish()
    sq.judge(checks.media_retarget(trace, spec=flows.calls.in_call_spec(sq), mode="offer", severity="R",
                                   lync_side=False))
