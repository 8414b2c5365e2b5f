"""Suite HLD: hold and resume by re-INVITE from either side (RFC 3264 sections 6.1, 8.4), many cycles, and the
legacy c=0.0.0.0 hold."""

from sipqual import case, checks, flows


@case("TC-HLD-01", "Lync holds with sendonly (music on hold): the DUT answers recvonly; resume sendrecv",
      requirements=["HLD-01", "HLD-02"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers; after 1 s of RTP both ways the "
                "Mediation side sends a re-INVITE with a=sendonly (music on hold: its RTP goes on), 1 s later a "
                "re-INVITE with a=sendrecv, 1 s of RTP, then BYE. The far end answers each re-INVITE per RFC 3264.",
      expected="DUT answers the hold with a=recvonly (or inactive), never sendrecv (Lync drops such a call), the "
               "resume with a=sendrecv; RTP both ways on both legs after the resume; BYE answered and relayed.")
def test_lync_holds_sendonly(sq):
    flows.hld.lync_holds(sq, hold_dir="sendonly")
    trace = sq.finish()
    sq.judge(checks.hold_resume(trace, spec=flows.calls.out_call_spec(sq), hold_dir="sendonly", cycles=1,
                                lync_holds=True))


@case("TC-HLD-02", "Lync holds with inactive: the DUT answers inactive; resume",
      requirements=["HLD-01", "HLD-02"], severity="M",
      procedure="As TC-HLD-01 with a=inactive in the hold re-INVITE (no RTP from either side while held).",
      expected="DUT answers the hold with a=inactive and the resume with a=sendrecv; RTP both ways on both legs "
               "after the resume; BYE answered and relayed.")
def test_lync_holds_inactive(sq):
    flows.hld.lync_holds(sq, hold_dir="inactive")
    trace = sq.finish()
    sq.judge(checks.hold_resume(trace, spec=flows.calls.out_call_spec(sq), hold_dir="inactive", cycles=1,
                                lync_holds=True))


@case("TC-HLD-03", "DUT-side hold (the far end holds with sendonly): re-INVITE to Lync, o= version +1, resume",
      requirements=["HLD-03"], severity="M",
      procedure="The far end calls the inbound number; the Mediation side answers; after 1 s of RTP the far caller "
                "sends a re-INVITE with a=sendonly, 1 s later a=sendrecv, 1 s of RTP, then BYE. The Mediation side "
                "answers each re-INVITE the DUT sends it per RFC 3264.",
      expected="DUT sends the Mediation side a re-INVITE with a=sendonly (or inactive) whose o= version is one "
               "higher than its previous SDP (same session id), then one with a=sendrecv, version +1 again; RTP both "
               "ways after the resume; BYE relayed.")
def test_far_end_holds(sq):
    flows.hld.far_holds(sq, hold_dir="sendonly")
    trace = sq.finish()
    sq.judge(checks.hold_resume(trace, spec=flows.calls.in_call_spec(sq), hold_dir="sendonly", cycles=1,
                                lync_holds=False))


@case("TC-HLD-04", "Long hold with RTCP continuing while held; the call survives",
      requirements=["HLD-04", "MED-05"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers and sends RTCP every second for the "
                "whole call; the Mediation side holds (a=inactive) for 6 s (quick profile; 90 s in the full profile), "
                "resumes (a=sendrecv), 1 s of RTP, then BYE.",
      expected="DUT answers the hold a=inactive and the resume a=sendrecv; RTCP from the DUT toward the Mediation side "
               "keeps flowing while held (no 10 s without); RTP both ways after the resume; the BYE answered and "
               "relayed.")
def test_long_hold_with_rtcp(sq):
    flows.hld.lync_holds_with_rtcp(sq, hold_s=sq.seconds(quick=6, full=90))
    trace = sq.finish()
    sq.judge(checks.hold_with_rtcp(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-HLD-05", "10 hold/resume cycles, audio both ways after each resume",
      requirements=["HLD-02", "HLD-01"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers; the Mediation side holds "
                "(a=inactive) for 0.3 s and resumes (a=sendrecv) with 0.5 s of RTP, ten times, then BYE.",
      expected="Every hold answered a=inactive, every resume a=sendrecv; RTP both ways on both legs after each of "
               "the ten resumes; the call survives (BYE answered and relayed).")
def test_hold_resume_loop(sq):
    flows.hld.lync_holds(sq, hold_dir="inactive", cycles=10, hold_ms=300, media_ms=500)
    trace = sq.finish()
    sq.judge(checks.hold_resume(trace, spec=flows.calls.out_call_spec(sq), hold_dir="inactive", cycles=10,
                                lync_holds=True))


@case("TC-HLD-06", "Lync call park and retrieve of a PSTN call (the retrieving endpoint on another media port)",
      requirements=["HLD-01"], severity="R",
      procedure="Mediation side calls the outbound number; the far end answers; after 1 s the Mediation side parks "
                "the call (re-INVITE a=sendonly, music on hold), 1 s later retrieves it with a re-INVITE a=sendrecv "
                "offering another media port, 1 s of RTP, then BYE.",
      expected="DUT answers the park a=recvonly (or inactive) and the retrieval a=sendrecv; after the retrieval its "
               "RTP toward the Mediation side goes to the new port, RTP flows both ways; BYE answered and relayed.")
def test_park_and_retrieve(sq):
    flows.hld.lync_holds(sq, hold_dir="sendonly", retrieve="moved")
    trace = sq.finish()
    sq.judge(checks.park_retrieve(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-HLD-07", "Legacy c=0.0.0.0 hold from the DUT side flagged (informative)",
      requirements=["RFC3264-05"], severity="I",
      procedure="The far end calls the inbound number; the Mediation side answers; the far caller holds the RFC 2543 "
                "way (re-INVITE with c=IN IP4 0.0.0.0 and a=sendonly), then resumes and hangs up.",
      expected="Recorded: whether the DUT's hold re-INVITE toward the Mediation side carries c=0.0.0.0 (flagged: RFC "
               "3264 section 8.4 wants a=sendonly/inactive with a real address) or a real address with the direction.")
def test_legacy_hold_flagged(sq):
    flows.hld.far_holds(sq, hold_dir="sendonly", legacy=True)
    trace = sq.finish()
    sq.judge(checks.legacy_hold(trace, spec=flows.calls.in_call_spec(sq)))
