"""Suite MED on the media agent (sipqual.mediaagent): what the DUT sends our media endpoints. Continuity, the
timestamp clock, RTCP form and interval are also judged by the passive media rules on every DUT stream."""

from sipqual import case, checks, flows


def agent_views(sq, caller: str, callee: str) -> dict:
    """What each of our agents measured of the DUT's RTP (plain data for the check)."""
    views = {}
    for who, name in (("caller", caller), ("callee", callee)):
        streams = [x for s in sq.media_reports.get(name, {}).get("streams", []) for x in s["received"]["streams"]]
        if streams:
            best = max(streams, key=lambda x: x["packets"])
            views[who] = {k: best[k] for k in ("packets", "lost", "jitter_ms")}
    return views


@case("TC-MED-02", "IN: the DUT's RTP on both legs: 20 ms G.711 packets, timestamp +160, continuous, jitter/loss",
      requirements=["MED-09", "RFC3550-01"],
      procedure="The far end calls the inbound number; both sides' media come from sipqual media agents sending "
                "20 ms PCMU (timestamp +160, sequence +1) for 2 s; the far end hangs up.",
      expected="On each leg the DUT sends our agent G.711 in 20 ms packets with the timestamp advancing 160 per "
               "packet and the sequence number by one; loss and RFC 3550 jitter (on the wire and as our agents "
               "measured them) are recorded.")
def test_in_rtp_timing(sq):
    audio = [{"kind": "audio", "seconds": 2}]
    flows.med.in_call(sq, ms_plan=audio, far_plan=audio, hold_ms=2000)
    trace = sq.finish()
    sq.judge(checks.dut_rtp_timing(trace, spec=flows.calls.in_call_spec(sq),
                                   agent_views=agent_views(sq, "far", "ms")))


@case("TC-MED-04", "OUT: the DUT sends RTCP toward the Mediation side: compound SR/RR + SDES, every 5-10 s",
      requirements=["MED-05", "RFC3550-03", "RFC3550-04"],
      procedure="The Mediation side calls the outbound number; both sides' media come from sipqual media agents "
                "that send RTP and RTCP (compound SR + SDES CNAME at RFC 3550 intervals, Tmin 5 s) for 12 s (quick; "
                "60 s full); the Mediation side hangs up.",
      expected="On the Mediation leg the DUT sends RTCP compounds (SR or RR first, SDES CNAME) at least twice, never "
               "more than 10 s apart and never 30 s apart (Lync's watchdog); count, mean interval and packet types "
               "recorded.")
def test_out_rtcp(sq):
    seconds = sq.seconds(quick=12, full=60)
    audio = [{"kind": "audio", "seconds": seconds}]
    flows.med.out_call(sq, ms_plan=audio, far_plan=audio, hold_ms=int(seconds * 1000))
    trace = sq.finish()
    sq.judge(checks.dut_rtcp(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-MED-03", "OUT: comfort noise (PT 13) negotiated and passed on both ways in silences",
      requirements=["MED-04"],
      procedure="The Mediation side calls the outbound number; both sides offer PCMU, PCMA, telephone-event and CN "
                "(PT 13); both sides' media agents send 0.5 s of audio, 1 s of silence as comfort noise (a CN packet "
                "every 200 ms, RFC 3389) and audio again; the Mediation side hangs up.",
      expected="The DUT's SDP toward each side keeps CN, and it passes each side's comfort noise on to the other "
               "side as CN (the form of every CN packet judged by RFC3389-01).")
def test_out_comfort_noise(sq):
    plan = [{"kind": "audio", "seconds": 0.5}, {"kind": "silence", "seconds": 1.0}, {"kind": "audio", "seconds": 0.5}]
    flows.med.out_call(sq, ms_plan=plan, far_plan=plan, hold_ms=2500)
    trace = sq.finish()
    sq.judge(checks.comfort_noise_relayed(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-MED-06", "OUT: the DUT's media address toward the Mediation side is its signalling address",
      requirements=["MED-06"],
      procedure="The Mediation side calls the outbound number; both sides' media come from sipqual media agents "
                "(1 s of audio); the Mediation side hangs up.",
      expected="The DUT's answer to the Mediation side names as c= the address it sends its SIP from "
               "(ConcentratedTopology: one media termination point), and its RTP to our agent comes from there.")
def test_out_media_address(sq):
    audio = [{"kind": "audio", "seconds": 1}]
    flows.med.out_call(sq, ms_plan=audio, far_plan=audio, hold_ms=1500)
    trace = sq.finish()
    sq.judge(checks.media_at_signalling_address(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-MED-09", "OUT: symmetric RTP / latching: the DUT sends to where the Mediation side's RTP comes from",
      requirements=["MED-07"], needs=["rtp_latching"],
      procedure="The Mediation side calls the outbound number; its media agent announces one port in its SDP but "
                "sends its RTP from another port of the same address (as from behind a NAT); both sides send 2 s "
                "of audio; the Mediation side hangs up.",
      expected="Within 1 s of our first RTP from the other port, the DUT sends its RTP there (latching, "
               "EnableRTPLatching) and no longer to the port in our SDP.")
def test_out_rtp_latching(sq):
    sdp_port, source = flows.med.out_call_behind_nat(sq, hold_ms=2000)
    trace = sq.finish()
    sq.judge(checks.rtp_latched(trace, spec=flows.calls.out_call_spec(sq), sdp_port=sdp_port, source_port=source))


@case("TC-MED-08", "OUT: a re-INVITE moving the Mediation side's media to another port: the DUT follows within 1 s",
      requirements=["XFR-02", "RFC3264-04"],
      procedure="The Mediation side calls the outbound number; media from sipqual media agents; after 1.5 s it "
                "sends a re-INVITE (o= version 2) whose SDP moves its media to a second agent's port, the first "
                "agent stops sending and the second starts once the DUT answers; the far end answers the relayed "
                "re-INVITE with its unchanged SDP; 1.5 s later the Mediation side hangs up.",
      expected="The DUT answers the re-INVITE 200 and, within 1 s of that 200, sends its RTP to the new port and no "
               "longer to the old one (as after a transfer or a call park retrieved elsewhere).")
def test_out_media_retarget(sq):
    old, new = flows.med.out_call_retarget(sq, media_ms=1500)
    trace = sq.finish()
    sq.judge(checks.media_retargeted(trace, spec=flows.calls.out_call_spec(sq), old_port=old, new_port=new))


@case("TC-MED-07", "OUT: a re-INVITE with unchanged SDP: the DUT's answer unchanged (same o= version), no glitch",
      requirements=["RFC3264-04", "SIG-06"],
      procedure="The Mediation side calls the outbound number; media from sipqual media agents all along; after "
                "1.5 s it sends a re-INVITE whose SDP is unchanged (same port, same o= version, as Lync's session "
                "refresh); the far end answers the relayed re-INVITE with its unchanged SDP; 1.5 s later the "
                "Mediation side hangs up.",
      expected="The DUT answers 200 with its SDP unchanged (same o= session id and version, address, port, "
               "formats) and its RTP to the Mediation side goes on without a pause around the exchange.")
def test_out_reinvite_unchanged(sq):
    flows.med.out_call_reinvite_unchanged(sq, media_ms=1500)
    trace = sq.finish()
    sq.judge(checks.reinvite_unchanged(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-MED-01", "OUT: PCMU only, PCMA only, both offered: the answer a subset, the negotiated PT on the wire",
      requirements=["MED-01", "RFC3264-02"],
      procedure="The Mediation side places three OUT calls one after the other, offering PCMU only, PCMA only, then "
                "PCMU and PCMA (each with telephone-event 101 and CN 13, as Lync does); the far end answers in the "
                "codecs it is offered; both sides' media come from sipqual media agents sending 0.8 s of G.711 in "
                "the codec negotiated; the Mediation side hangs up each call.",
      expected="Each answer from the DUT lists only formats we offered and at least one offered G.711 type; on each "
               "call the DUT's RTP to the Mediation side and to the far end is in a payload type both ends' SDP "
               "list (rtp.p_type on the wire, both directions).")
def test_out_codec_subsets(sq):
    calls = flows.med.codec_calls(sq)
    trace = sq.finish()
    sq.judge(checks.codecs_negotiated(trace, spec=flows.calls.out_call_spec(sq), calls=calls))


@case("TC-MED-05", "OUT: the Mediation side withholds its RTCP: the DUT's behaviour recorded (RTCPActiveCalls)",
      requirements=["MED-05"],
      procedure="The Mediation side calls the outbound number; both sides' media come from sipqual media agents "
                "sending audio all along; the Mediation side's agent sends no RTCP at all for 35 s (full; 6 s quick), "
                "the far end's sends RTCP as usual; then the Mediation side hangs up.",
      expected="Recorded (informative): the DUT keeps the call up until our BYE (a BYE from it first is it dropping "
               "the call for want of RTCP), its RTP to us goes on, and its own RTCP to us goes on (count and longest "
               "silence; judged on calls of 20 s or more).")
def test_out_rtcp_withheld(sq):
    seconds = sq.seconds(quick=6, full=35)
    flows.med.out_call_rtcp_withheld(sq, withheld_s=seconds)
    trace = sq.finish()
    sq.judge(checks.rtcp_withheld(trace, spec=flows.calls.out_call_spec(sq), withheld_s=seconds))
