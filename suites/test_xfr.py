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


# ---- REFER enabled (EnableReferSupport; PICS refer) ---------------------------------------------------------------

@case("TC-XFR-01", "EnableReferSupport: blind transfer by REFER to a PSTN target (202, NOTIFY 100/200, BYE)",
      requirements=["XFR-01", "RFC3515-01", "RFC3515-02"], severity="O", needs=["refer"],
      procedure="Mediation side calls the outbound number; the far end answers; after 1 s of RTP the Mediation side "
                "sends a REFER in the dialog, Refer-To the transfer target (PIXIT numbers.transfer_target) at the "
                "DUT, without Referred-By (the CUCM 7 limitation XFR-04 records); it answers every NOTIFY and hangs "
                "up 0.2 s after the final one. A REFER passed on reaches our far end, which answers 202 and NOTIFYs "
                "100 Trying, then 200 OK.",
      expected="202 to the REFER; the transfer carried out (the DUT's INVITE to the target on the far leg, or the "
               "REFER passed on with that Refer-To: recorded which); NOTIFYs with message/sipfrag, the last one "
               "terminating the subscription with 200; our BYE answered and relayed.")
def test_blind_transfer_by_refer(sq):
    flows.xfr.lync_refers(sq, referred_by=False)
    trace = sq.finish()
    sq.judge(checks.refer_transfer(trace, spec=flows.calls.out_call_spec(sq), target=flows.xfr.transfer_target(sq),
                                   referred_by=False, outcome=200))


@case("TC-XFR-03", "REFER to a busy target: NOTIFY 486 sipfrag, the original call goes on",
      requirements=["XFR-01", "RFC3515-02"], severity="O", needs=["refer"],
      procedure="As TC-XFR-01 with Referred-By; the target is busy: the transferee's final NOTIFY says 486 Busy "
                "Here; the Mediation side keeps the call 1.5 s more, then hangs up.",
      expected="202; NOTIFYs with message/sipfrag, the last one terminating the subscription with 486; RTP both ways "
               "through the DUT after it (the original call restored); our BYE answered and relayed.")
def test_refer_to_busy_target(sq):
    flows.xfr.lync_refers(sq, referred_by=True, frag="486 Busy Here", after_ms=1500)
    trace = sq.finish()
    sq.judge(checks.refer_transfer(trace, spec=flows.calls.out_call_spec(sq), target=flows.xfr.transfer_target(sq),
                                   referred_by=True, outcome=486))


@case("TC-XFR-06", "REFER with Referred-By: accepted, Referred-By copied into the triggered INVITE",
      requirements=["XFR-04", "RFC3892-01"], severity="O", needs=["refer"],
      procedure="As TC-XFR-01, the REFER carrying Referred-By: the Lync user (TC-XFR-01's has none).",
      expected="As TC-XFR-01, and the Referred-By (same user) in the DUT's INVITE to the target, or, where the DUT "
               "passes the REFER on to the far side that carries it out, in that REFER.")
def test_refer_with_referred_by(sq):
    flows.xfr.lync_refers(sq, referred_by=True)
    trace = sq.finish()
    sq.judge(checks.refer_transfer(trace, spec=flows.calls.out_call_spec(sq), target=flows.xfr.transfer_target(sq),
                                   referred_by=True, outcome=200))


@case("TC-XFR-08", "Lync transfers an inbound PSTN call back to another PSTN number by REFER",
      requirements=["XFR-01", "ID-02"], severity="R", needs=["refer"],
      procedure="The far end calls the inbound number; the Mediation side answers; after 1 s of RTP it sends a REFER "
                "in the dialog, Refer-To the transfer target (PIXIT numbers.transfer_target) at the DUT, Referred-By "
                "the Lync user; it answers every NOTIFY and hangs up 0.2 s after the final one. A REFER passed on "
                "reaches our far caller, which answers 202 and NOTIFYs 100 Trying, then 200 OK.",
      expected="202; the transfer carried out toward the PSTN (the DUT's INVITE to the target on the far leg, a "
               "second DUT leg found by the number, or the REFER passed on to the far caller: recorded which), with "
               "the Referred-By (ID-02); NOTIFYs with message/sipfrag, the last one terminating with 200; our BYE "
               "answered and relayed.")
def test_inbound_call_transferred_to_pstn(sq):
    flows.xfr.lync_refers_in_call(sq, referred_by=True)
    trace = sq.finish()
    sq.judge(checks.refer_transfer(trace, spec=flows.calls.in_call_spec(sq), target=flows.xfr.transfer_target(sq),
                                   referred_by=True, outcome=200, severity="R", by="callee"))


@case("TC-XFR-02", "EnableReferSupport: attended transfer by REFER with Replaces; an unmatched Replaces gets 481",
      requirements=["XFR-01", "RFC3891-01", "RFC3515-01", "RFC3515-02"], severity="O", needs=["refer", "replaces"],
      procedure="Mediation side calls party 1 (outbound number, call A) and party 2 (the transfer target, call B), "
                "both on the far side; after 1 s of RTP it REFERs party 1 on A with Refer-To <party 2?Replaces=call "
                "B's dialog as Lync sees it> and Referred-By. Party 1's PBX carries a REFER passed on out: an "
                "INVITE with the Refer-To's Replaces to party 2 through the DUT, 1.5 s of RTP, BYE; party 2 accepts "
                "it and ends its call B with a BYE; party 1 NOTIFYs 100, then 200. Meanwhile the Mediation side "
                "sends an INVITE with a Replaces matching no dialog to a third number.",
      expected="202 to the REFER (own or relayed); the Replaces that reaches party 2's side (in a Refer-To passed on, "
               "and in the INVITE to party 2, the DUT's own or relayed) names party 2's leg of call B by RFC 3891 "
               "rules (Call-ID, to-tag = party 2's tag, from-tag the other end's); call B ended toward Lync too; RTP "
               "between party 1 and party 2 through the DUT; NOTIFYs ending with 200; our BYE answered. The "
               "unmatched Replaces answered 481 (the DUT's own or relayed: recorded) and no call set up.")
def test_attended_transfer_with_replaces(sq):
    flows.xfr.lync_attended(sq)
    trace = sq.finish()
    spec_a, spec_b, spec_481 = flows.xfr.attended_specs(sq)
    sq.judge(checks.attended_transfer(trace, spec=spec_a, spec_b=spec_b)
             + checks.replaces_unmatched(trace, spec=spec_481))
