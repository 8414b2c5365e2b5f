"""Suite BYP (media bypass, issue 13): the Mediation side signals from the Mediation Server's address while its SDP
names a Lync client's media address (a second address of ours on the Mediation side) where a sipqual media agent
sends and receives. Applicable when the DUT claims media bypass (PICS ``media_bypass``; severity M† then)."""

from sipqual import case, checks, flows

DIGITS = "123#"


@case("TC-BYP-01", "OUT bypass: the DUT's media to the client address (c= not the Mediation Server), RTP accepted "
      "from the client", requirements=["BYP-02"], needs=["media_bypass"],
      procedure="The Mediation side calls the outbound number from the Mediation Server's address; its SDP names a "
                "Lync client's address (192.0.2.20 in the managed lab) and a media agent's port there; both the "
                "client and the far end send 1.5 s of audio; the Mediation side hangs up.",
      expected="The DUT sends its RTP to the client's address and port (not to the Mediation Server's address it "
               "signals with) and passes the client's RTP on to the far end.")
def test_out_bypass(sq):
    audio = [{"kind": "audio", "seconds": 1.5}]
    byp = flows.byp.out_call(sq, client_plan=audio, far_plan=audio, hold_ms=1500)
    trace = sq.finish()
    sq.judge(checks.bypass_media(trace, spec=flows.calls.out_call_spec(sq), client=byp.client, port=byp.port))


@case("TC-BYP-03", "Bypass with REFER and client RTCP disabled: the call stays up without RTCP from the client",
      requirements=["BYP-03", "XFR-03"], needs=["media_bypass"],
      procedure="The Mediation side calls the outbound number in bypass (SDP at a Lync client's address); the "
                "client's media agent sends RTP but never RTCP (RTCPActiveCalls and RTCPCallsOnHold off, as bypass "
                "with EnableReferSupport off requires); both sides send audio for 2.5 s (quick; 40 s full: past "
                "the 30 s a media watchdog waits); the Mediation side hangs up.",
      expected="The DUT keeps the call: no BYE of its own on either leg, its RTP to the client and its relay of the "
               "client's RTP to the far end go on until our BYE.")
def test_bypass_without_client_rtcp(sq):
    seconds = sq.seconds(quick=2.5, full=40)
    audio = [{"kind": "audio", "seconds": seconds}]
    byp = flows.byp.out_call(sq, client_plan=audio, far_plan=audio, hold_ms=int(seconds * 1000), rtcp=False)
    trace = sq.finish()
    sq.judge(checks.bypass_without_rtcp(trace, spec=flows.calls.out_call_spec(sq), client=byp.client, port=byp.port))


@case("TC-BYP-02", "IN bypass: forked clients answer with early dialogs; media with the answering client only",
      requirements=["BYP-01", "SIG-04"], needs=["media_bypass"],
      procedure="The far end calls the inbound number; the Mediation side forks like Lync's simultaneous ring: "
                "three 183 with SDP, each its own To tag and a client's media address (forks 1 and 3 at 192.0.2.20 "
                "on two ports, fork 2 at 192.0.2.21), then 200 from fork 2; only fork 2's media agent sends (after "
                "the answer); the far end hangs up after 1.5 s.",
      expected="Within 1 s of the 200 the DUT sends its RTP to the answering client's address and port only (none "
               "to the other forks' addresses or ports after that) and passes that client's RTP on to the far end.")
def test_in_bypass_forked(sq):
    byp = flows.byp.in_call_forked(sq, hold_ms=1500)
    trace = sq.finish()
    sq.judge(checks.bypass_fork_answered(trace, spec=flows.calls.in_call_spec(sq), client=byp.client,
                                         port=byp.port, other=byp.other, other_port=byp.other_port))


@case("TC-BYP-04", "Bypass call transferred with REFER disabled: the re-INVITE moves media to the Mediation Server",
      requirements=["BYP-04"], needs=["media_bypass"],
      procedure="The Mediation side calls the outbound number in bypass (SDP at a Lync client's address); after 1 s "
                "(the client's agent stops just before) it re-INVITEs with its media at the Mediation Server's own "
                "address and another agent's port, as when a bypass call is transferred with EnableReferSupport "
                "off; 1 s later a second re-INVITE with the same SDP, 1 s later it hangs up. The far end answers "
                "each relayed re-INVITE with its unchanged SDP.",
      expected="The DUT answers the re-INVITE 200 and within 1 s sends its RTP to the Mediation Server's address "
               "and new port, none to the client any more, and passes the Mediation Server's RTP to the far end.")
def test_bypass_leaves(sq):
    byp = flows.byp.out_call_leaves_bypass(sq, media_ms=1000)
    trace = sq.finish()
    sq.judge(checks.bypass_left(trace, spec=flows.calls.out_call_spec(sq), client=byp.client, port=byp.port,
                                mediation=byp.other, new_port=byp.other_port))


@case("TC-BYP-05", "Bypass with SRTP required: SRTP with the client, with the client's keys",
      requirements=["SRTP-06", "SRTP-04"], needs=["srtp", "media_bypass"], transports=["tls"],
      procedure="Over TLS (SRTPMode Required) the Mediation side calls the outbound number in bypass: its SDP names "
                "a Lync client's address and offers m=audio RTP/SAVP with the client's own SDES key "
                "(AES_CM_128_HMAC_SHA1_80); the client's media agent sends SRTP with that key and decrypts what it "
                "receives with the key of the DUT's answer; both sides send 1.5 s of audio; the Mediation side "
                "hangs up.",
      expected="The DUT answers RTP/SAVP with one a=crypto of the offered tag and suite; its RTP to the client's "
               "address is SRTP that authenticates with the key of its answer (libsrtp), never cleartext; it "
               "decrypts the client's SRTP and passes it on to the far end.")
def test_bypass_srtp(sq):
    audio = [{"kind": "audio", "seconds": 1.5}]
    byp = flows.byp.out_call(sq, client_plan=audio, far_plan=audio, hold_ms=1500, srtp=True)
    trace = sq.finish()
    sq.judge(checks.bypass_srtp(trace, spec=flows.calls.out_call_spec(sq), client=byp.client, port=byp.port))


@case("TC-BYP-06", "Bypass hold/resume: the client holds and resumes; media with the client again",
      requirements=["HLD-05"], needs=["media_bypass"],
      procedure="The Mediation side calls the outbound number in bypass (SDP at a Lync client's address); after 1 s "
                "the client holds (re-INVITE a=sendonly, same address and port; its agent goes on sending as music "
                "on hold; the far end answers recvonly and its agent pauses), 1.5 s later resumes (a=sendrecv), 1 s "
                "later the Mediation side hangs up.",
      expected="The DUT answers the hold recvonly (or inactive) and the resume sendrecv, and within 1 s of the "
               "resume sends its RTP to the client's address again (not the Mediation Server's) and passes the "
               "client's RTP on to the far end (KB 2904439: hold failing with bypass).")
def test_bypass_hold_resume(sq):
    byp = flows.byp.out_call_hold_resume(sq, media_ms=1000, hold_ms=1500)
    trace = sq.finish()
    sq.judge(checks.bypass_hold_resume(trace, spec=flows.calls.out_call_spec(sq), client=byp.client, port=byp.port))


@case("TC-BYP-07", "Bypass with early media and DTMF: early media to the client, client's digits to the far end",
      requirements=["MED-03", "SIG-03"], needs=["media_bypass"],
      procedure="The Mediation side calls the outbound number in bypass (SDP at a Lync client's address); the far "
                "end answers 183 with SDP and plays 1 s of early media before its 200; 0.4 s after the answer the "
                "client's agent sends the digits 1 2 3 # as RFC 4733 events; the Mediation side hangs up 1.5 s "
                "after the answer.",
      expected="The DUT sends the far end's early media to the client's address before the answer (none to the "
               "Mediation Server), takes the client's RTP and delivers every digit in order to the far end as "
               "RFC 4733 events.")
def test_bypass_early_dtmf(sq):
    plan = [{"kind": "audio", "seconds": 1.4}, {"kind": "digits", "digits": DIGITS, "ms": 60, "gap_ms": 40}]
    byp = flows.byp.out_call(sq, client_plan=plan, far_plan=[{"kind": "audio", "seconds": 3}], hold_ms=1500,
                             early_ms=1000)
    trace = sq.finish()
    sq.judge(checks.bypass_early_media_dtmf(trace, spec=flows.calls.out_call_spec(sq), client=byp.client,
                                            port=byp.port, digits=DIGITS))
