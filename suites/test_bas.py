"""Suite BAS: basic calls in both directions, cleared by either side, and calls that end before they are answered."""

from sipqual import case, checks, flows


@case("TC-BAS-05", "OUT call cancelled by the Mediation side before answer",
      requirements=["RFC3261-09", "FO-05"], severity="M",
      procedure="Mediation side calls the outbound number; the far end rings (180) and never answers; one second "
                "after the 180 reached it, the Mediation side sends CANCEL.",
      expected="DUT answers the CANCEL with 200 and the INVITE with 487, never connects the call, and releases the "
               "far leg (CANCEL to the far end).")
def test_out_call_cancelled(sq):
    flows.bas.out_call_cancelled(sq)
    trace = sq.finish()
    sq.judge(checks.call_cancelled(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-BAS-07", "OUT call to a busy PSTN number is rejected with 486, not 503",
      requirements=["FO-01"], severity="M",
      procedure="Mediation side calls the outbound number; the far end answers 486 Busy Here with Reason "
                "Q.850;cause=17, as a PSTN switch reports a busy subscriber.",
      expected="DUT passes 486 back to the Mediation side (a 503 would make Lync retry another gateway) and "
               "completes both transactions.")
def test_out_call_busy(sq):
    flows.bas.out_call_busy(sq)
    trace = sq.finish()
    sq.judge(checks.call_rejected(trace, spec=flows.calls.out_call_spec(sq), status=486))


@case("TC-BAS-01", "IN basic call PCMU only; Lync answers and hangs up",
      requirements=["MED-01", "MED-02", "RFC3261-10", "RFC3261-14"], severity="M",
      procedure="The far end calls the inbound number offering PCMU only (with telephone-event); the Mediation side "
                "answers in PCMU, both stream G.711 for 1.5 s; the Mediation side sends BYE.",
      expected="DUT offers PCMU to the Mediation side and answers the caller in PCMU; RTP in PCMU both ways on both "
               "legs through the DUT; the Mediation side's BYE answered 200 and relayed to the far end.")
def test_in_call_pcmu_lync_hangs_up(sq):
    flows.bas.in_call_callee_hangs_up(sq, codec="PCMU")
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.bas.in_call_spec(sq, "PCMU"), hangup_by="callee"))


@case("TC-BAS-02", "IN basic call PCMA only; the caller hangs up (BYE from the DUT)",
      requirements=["MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="The far end calls the inbound number offering PCMA only (with telephone-event); the Mediation side "
                "answers in PCMA, both stream G.711 for 1.5 s; the far caller sends BYE.",
      expected="DUT offers PCMA to the Mediation side and answers the caller in PCMA; RTP in PCMA both ways on both "
               "legs; the caller's BYE answered 200 and a BYE from the DUT to the Mediation side, which answers 200.")
def test_in_call_pcma_caller_hangs_up(sq):
    flows.bas.in_call_caller_hangs_up(sq, codec="PCMA")
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.bas.in_call_spec(sq, "PCMA"), hangup_by="caller"))


@case("TC-BAS-03", "OUT basic call; the far end answers and hangs up (BYE from the DUT)",
      requirements=["MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="Mediation side calls the outbound number (PCMU, PCMA offered); the far end answers, both stream "
                "G.711 for 1.5 s; the far end sends BYE.",
      expected="DUT answers the Mediation side with a G.711 answer, RTP both ways on both legs; the far end's BYE "
               "answered 200 and a BYE from the DUT to the Mediation side.")
def test_out_call_far_end_hangs_up(sq):
    flows.bas.out_call_callee_hangs_up(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.out_call_spec(sq), hangup_by="callee"))


@case("TC-BAS-04", "OUT basic call; Lync hangs up",
      requirements=["RFC3261-14", "MED-01", "MED-02"], severity="M",
      procedure="Mediation side calls the outbound number (PCMU, PCMA offered); the far end answers, both stream "
                "G.711 for 1.5 s; the Mediation side sends BYE.",
      expected="DUT answers the Mediation side's BYE with 200 and clears the far leg with a BYE; the call stays up "
               "until then.")
def test_out_call_lync_hangs_up(sq):
    flows.calls.out_call(sq, hold_ms=1500)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.out_call_spec(sq), hangup_by="caller"))


@case("TC-BAS-06", "IN call cancelled by the DUT side before answer",
      requirements=["RFC3261-09", "RFC3261-03"], severity="M",
      procedure="The far end calls the inbound number; the Mediation side rings (180) and never answers; one second "
                "after the 180 reached it, the far caller sends CANCEL.",
      expected="DUT answers the CANCEL with 200 and the INVITE with 487, sends CANCEL to the Mediation side on its "
               "INVITE's branch, and ACKs the Mediation side's 487.")
def test_in_call_cancelled(sq):
    flows.bas.in_call_cancelled(sq)
    trace = sq.finish()
    sq.judge(checks.call_cancelled(trace, spec=flows.calls.in_call_spec(sq), release_req="RFC3261-09"))


@case("TC-BAS-14", "2xx retransmitted until ACK; BYE after 32 s without ACK",
      requirements=["RFC3261-11"], long=True,
      procedure="Mediation side calls the outbound number; the far end answers; the Mediation side never sends the "
                "ACK for the 200 and waits (45 s at most) for a BYE. The far end behaves as an RFC 3261 UAS that "
                "gets no ACK: it retransmits its 200 at T1 doubling to T2 and sends BYE at 64*T1.",
      expected="On the Mediation leg the 200 is retransmitted at 0.5, 1, 2 s then every 4 s (T1 doubling up to T2), "
               "none after 64*T1 (32 s), then a BYE toward the Mediation side (by about 39 s). Relayed from the far "
               "end (a proxy) or the DUT's own (a B2BUA): recorded which.")
def test_out_call_2xx_without_ack(sq):
    flows.bas.out_call_no_ack(sq)
    trace = sq.finish()
    sq.judge(checks.two_xx_retransmitted(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-BAS-13", "Long call 40 min (beyond 1800 s session interval) stays up, RTP/RTCP continuous",
      requirements=["MED-05", "MED-02", "RFC4028-03", "RFC4028-04"], long=True,
      procedure="OUT call: the Mediation side's INVITE asks Session-Expires (quick 90 s, full 1800 s);refresher=uac; "
                "the far end answers with the same timer. Both stream G.711 and send RTCP every second for the whole "
                "call; the Mediation side refreshes with an UPDATE every half interval and hangs up after quick "
                "100 s, full 40 minutes (2400 s).",
      expected="The DUT's 200 carries Session-Expires; the DUT answers each refresh 2xx and the far leg is "
               "refreshed within half its interval + 10 s each time; the call stays up until the Mediation side's "
               "BYE (answered 200, relayed); RTP both ways on both legs out of the DUT with no gap over 1 s; RTCP "
               "from the DUT toward the Mediation side never 10 s apart (MED-05).")
def test_long_call(sq):
    se, duration = flows.bas.long_call_interval(sq), flows.bas.long_call_duration(sq)
    flows.bas.out_call_long(sq, se, duration)
    trace = sq.finish()
    sq.judge(checks.long_call(trace, spec=flows.calls.out_call_spec(sq), duration=duration))
