"""Suite DTMF on the media agent (sipqual.mediaagent): digits as RFC 4733 telephone-events both ways through the DUT.
The form of every event the DUT sends (codes, shared timestamp, marker, duration growth, three end packets with the
E bit, the receiver's payload type) is judged by the passive rules RFC4733-02/03/04/06."""

from sipqual import case, checks, flows

ALL_DIGITS = "0123456789*#"


def _digits_plan(digits: str) -> list[dict]:
    return [{"kind": "audio", "seconds": 0.3}, {"kind": "digits", "digits": digits, "ms": 60, "gap_ms": 40}]


@case("TC-DTMF-01", "IN: digits 0-9, *, # from the far end reach the Mediation side as RFC 4733 events",
      requirements=["MED-03", "RFC4733-02", "RFC4733-03", "RFC4733-04", "RFC4733-06"],
      procedure="The far end calls the inbound number; both sides' media come from sipqual media agents; after "
                "0.3 s of audio the far end's agent sends the digits 0-9, *, # as RFC 4733 telephone-events (60 ms "
                "each, three end packets, 40 ms apart) in the Mediation side's telephone-event payload type; the far "
                "end hangs up.",
      expected="The DUT delivers every digit, in order, to the Mediation side as RFC 4733 events (event codes 0-11) "
               "in the payload type the Mediation side's SDP gave, each event's packets sharing its timestamp, "
               "the first marked, the end packet sent three times with the E bit.")
def test_in_dtmf_events(sq):
    flows.med.in_call(sq, ms_plan=[{"kind": "audio", "seconds": 1}], far_plan=_digits_plan(ALL_DIGITS),
                      hold_ms=int(sq.seconds(3000, 3000)))
    trace = sq.finish()
    ms = sq.media_reports.get("ms", {})
    sq.judge(checks.dtmf_relayed(trace, spec=flows.calls.in_call_spec(sq), digits=ALL_DIGITS, from_caller=True,
                                 heard_inband=flows.med.heard_inband(ms)))


@case("TC-DTMF-02", "OUT: digits 0-9, *, # from the Mediation side reach the far end as RFC 4733 events",
      requirements=["MED-03", "RFC4733-02", "RFC4733-03", "RFC4733-04", "RFC4733-06"],
      procedure="The Mediation side calls the outbound number; both sides' media come from sipqual media agents; "
                "after 0.3 s of audio the Mediation side's agent sends the digits 0-9, *, # as RFC 4733 "
                "telephone-events (60 ms each, three end packets, 40 ms apart); the Mediation side hangs up.",
      expected="The DUT delivers every digit, in order, to the far end as RFC 4733 events in the payload type the "
               "far end's SDP gave (regenerated or relayed), well-formed as RFC 4733 requires.")
def test_out_dtmf_events(sq):
    flows.med.out_call(sq, ms_plan=_digits_plan(ALL_DIGITS), far_plan=[{"kind": "audio", "seconds": 1}],
                       hold_ms=int(sq.seconds(3000, 3000)))
    trace = sq.finish()
    far = sq.media_reports.get("far", {})
    sq.judge(checks.dtmf_relayed(trace, spec=flows.calls.out_call_spec(sq), digits=ALL_DIGITS, from_caller=True,
                                 heard_inband=flows.med.heard_inband(far)))


@case("TC-DTMF-03", "OUT: every event ends with three E-bit packets; a 3 s long press is relayed as one growing event",
      requirements=["RFC4733-03", "RFC4733-04", "MED-03"],
      procedure="The Mediation side calls the outbound number; both sides' media come from sipqual media agents; "
                "after 0.3 s of audio the Mediation side's agent sends the digit 5 (60 ms) and then holds the digit "
                "0 for 3 s (a duration update every 20 ms, three end packets); the Mediation side hangs up.",
      expected="On the far leg every event the DUT sends ends with its final packet three times with the E bit; the "
               "long press arrives as one event (one timestamp) whose duration grows with updates all along and "
               "reaches at least 2.7 s.")
def test_out_dtmf_long_press(sq):
    plan = [{"kind": "audio", "seconds": 0.3}, {"kind": "digits", "digits": "5", "ms": 60, "gap_ms": 100},
            {"kind": "digits", "digits": "0", "ms": 3000, "gap_ms": 100}]
    flows.med.out_call(sq, ms_plan=plan, far_plan=[{"kind": "audio", "seconds": 1}], hold_ms=4500)
    trace = sq.finish()
    sq.judge(checks.dtmf_long_press(trace, spec=flows.calls.out_call_spec(sq), digits="50", long_digit="0",
                                    from_caller=True))



@case("TC-DTMF-05", "OUT: digits sent as RFC 4733 events are not also heard as tones in the DUT's audio",
      requirements=["RFC4733-05", "MED-03"],
      procedure="The Mediation side calls the outbound number (telephone-event negotiated); both sides' media come "
                "from sipqual media agents; the Mediation side's agent sends 1 4 7 # as RFC 4733 events (80 ms "
                "each) between stretches of a 440 Hz test tone; the far end's agent decodes the DUT's G.711 and runs "
                "a Goertzel DTMF detector on every packet; the Mediation side hangs up.",
      expected="The far end receives the digits as RFC 4733 events and hears no DTMF tone in the DUT's audio (no "
               "double signalling, RFC 4733 section 2.5.1.1 / RFC4733-05).")
def test_out_dtmf_no_inband_duplicate(sq):
    plan = [{"kind": "audio", "seconds": 0.3}, {"kind": "digits", "digits": "147#", "ms": 80, "gap_ms": 100}]
    flows.med.out_call(sq, ms_plan=plan, far_plan=[{"kind": "audio", "seconds": 1}], hold_ms=2000)
    trace = sq.finish()
    sq.judge(checks.no_inband_duplicates(trace, spec=flows.calls.out_call_spec(sq), digits="147#", from_caller=True,
                                         heard=flows.med.heard_tones(sq.media_reports.get("far", {}))))


@case("TC-DTMF-04", "IN: asymmetric telephone-event PTs (101 offered, 96 answered): each side gets events on its own PT",
      requirements=["RFC4733-06", "MED-03"],
      procedure="The far end calls the inbound number offering telephone-event 101; our Mediation-side callee "
                "answers telephone-event on PT 96 (RFC 3264 section 6.1 lets the PTs differ per direction); both "
                "sides' media come from sipqual media agents; after 0.3 s the far end's agent sends 2 6 # and after "
                "1.2 s the Mediation side's sends 1 5 9 (60 ms each), each on the telephone-event PT of the SDP it "
                "received; the far end hangs up.",
      expected="The DUT delivers 2 6 # to the Mediation side as RFC 4733 events on PT 96, the PT of its answer, and "
               "1 5 9 to the far end on PT 101, the PT of its offer: all and in order, never on the other "
               "direction's PT (RFC4733-06).")
def test_in_dtmf_asymmetric_pts(sq):
    flows.med.in_call_asymmetric_te(sq, far_digits="26#", ms_digits="159", ms_te=96)
    trace = sq.finish()
    sq.judge(checks.dtmf_asymmetric_pts(trace, spec=flows.calls.in_call_spec(sq), caller_digits="26#",
                                        callee_digits="159"))


@case("TC-DTMF-06", "IN: a PIN keyed to a Lync conference / Exchange UM is collected whole, once, in order",
      requirements=["MED-03"],
      procedure="The far end calls the inbound number; the Mediation side answers as a conference / UM emulation "
                "(a timed IVR on a sipqual media agent): a 0.5 s prompt, 1.8 s of listening (it decodes RFC 4733 "
                "events and runs a DTMF tone detector on the audio), a 0.6 s confirmation tone; the far end's agent "
                "keys the PIN 1234# as RFC 4733 events (80 ms each) from 0.6 s on; the far end hangs up.",
      expected="The IVR collects 1 2 3 4 # exactly once and in order (no digit lost, none doubled by a tone beside "
               "its event), and its confirmation audio reaches the caller through the DUT after the PIN.")
def test_in_dtmf_pin(sq):
    flows.med.in_call_pin(sq, pin="1234#")
    trace = sq.finish()
    um = sq.media_reports.get("ms", {})
    sq.judge(checks.pin_collected(trace, spec=flows.calls.in_call_spec(sq), pin="1234#",
                                  heard_events=flows.med.heard_events(um), heard_inband=flows.med.heard_inband(um)))
