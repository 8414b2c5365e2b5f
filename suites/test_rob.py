"""Suite ROB: robustness against malformed, torture and unusual input (RFC 4475; RFC 3261 sections 8.2 and 12.2.2;
Lync's SDP). Crafted messages go to the DUT's trunk port over the case's transport and, in the TCP instance, as
scapy-built UDP packets to its far port; after every message a liveness OPTIONS must be answered."""

from sipqual import case, checks, flows


def _torture(sq, which: str, reqs: list[str], fuzz: bool = False) -> None:
    runs = flows.rob.torture_sets(sq, which, far_side=which != "application")
    # the fuzz run tests the parser, the same whatever carries the bytes: in the TCP instance (trunk TCP, far UDP)
    if fuzz and sq.transport == "tcp" and all(not r["log"].get("stopped") for r in runs):
        runs += flows.rob.torture_sets(sq, "fuzz")
    trace = sq.finish(dut_may_die=True)
    t = sq.topo
    sq.judge(checks.torture_handled(trace, runs=runs, reqs=reqs, dut_ips=sorted({t.ms.peer_ip, t.far.peer_ip}),
                                    dut_died=sq.dut_died))


@case("TC-ROB-01", "RFC 4475 valid set (section 3.1.1) parsed; calls/OPTIONS handled", requirements=["RFC4475"], destructive=True,
      procedure="Each RFC 4475 section 3.1.1 message (wsinv, intmeth, esc01, escnull, esc02, lwsdisp, longreq, "
                "semiuri, transports, mpart01, unreason, noreason; dblreq on UDP), rebuilt for the DUT's address "
                "and numbers, is sent to the trunk port on a connection of its own (and, in the TCP instance, as a "
                "UDP packet scapy builds to the far port); after each an OPTIONS to the DUT checks it is alive.",
      expected="Every request gets an answer other than 400 (relayed INVITEs get our far end's refusal, never a "
               "2xx); the stray responses get nothing; the liveness OPTIONS is answered after every message; the "
               "DUT process lives.")
def test_torture_valid(sq):
    _torture(sq, "valid", ["RFC4475"])


@case("TC-ROB-02", "RFC 4475 invalid set (section 3.1.2) rejected (400) without crash", requirements=["RFC4475"], destructive=True,
      procedure="Each RFC 4475 section 3.1.2 message (badinv01, ncl, scalar02, scalarlg, quotbal, ltgtruri, lwsruri, "
                "lwsstart, escruri, regbadct, badaor, baddn, badvers, mismatch01, mismatch02, bigcode; clerr on UDP) "
                "is sent like TC-ROB-01's, each followed by a liveness OPTIONS. Then (TCP instance) a bounded fuzz run: seeded "
                "mutations of a valid OPTIONS, INVITE and BYE (10 quick, 300 full; SIPQUAL_FUZZ_SEED and "
                "SIPQUAL_FUZZ_COUNT replay or widen it), sent the same way.",
      expected="Each invalid request gets 400 (or another 4xx/5xx, or is dropped where the RFC allows), never a 2xx; "
               "the stray responses get nothing; the DUT answers every liveness OPTIONS (after the fuzz inputs too) "
               "and lives; a crash or hang names the input, saved as evidence.")
def test_torture_invalid(sq):
    _torture(sq, "invalid", ["RFC4475"], fuzz=True)


@case("TC-ROB-03", "RFC 4475 section 3.3 application-layer set correct codes", requirements=["RFC4475", "RFC3261-15", "RFC3261-16"], destructive=True,
      procedure="The catalogue's RFC 4475 section 3.3 messages (insuf, unkscm, bext01, invut, multi01, mcl01, sdp01) "
                "are sent to the trunk port on the case's transport, each followed by a liveness OPTIONS; what the DUT "
                "relays is answered by a conforming far-end UAS.",
      expected="insuf 400, unkscm 416, bext01 420, invut 415, multi01 400, mcl01 400, sdp01 406 reach the Mediation "
               "side (from the DUT, or the far end's relayed through it); every liveness OPTIONS answered.")
def test_torture_application(sq):
    _torture(sq, "application", ["RFC4475", "RFC3261-15", "RFC3261-16"])


@case("TC-ROB-04", "BYE/ACK for unknown dialog -> 481; unknown method -> 405/501", requirements=["RFC3261-14"], destructive=True,
      procedure="A BYE and an ACK of a dialog that does not exist (a To tag, an unknown Call-ID) and an out-of-dialog "
                "request of an unknown method (FROBNICATE) are sent to the trunk port (and, in the TCP instance, to "
                "the far port over UDP), each followed by a liveness OPTIONS.",
      expected="481 to the BYE, nothing to the ACK (and nothing relayed), 405 or 501 to the unknown method; every "
               "liveness OPTIONS answered.")
def test_unknown_dialog_and_method(sq):
    _torture(sq, "stray", ["RFC3261-14"])


@case("TC-ROB-05", "Lync-style SDP with unknown a=x- attributes and extra m= lines tolerated", requirements=["MED-02"],
      procedure="The Mediation side calls the outbound number with Lync's offer: audio with a=x-ssrc-range, "
                "a=x-bandwidth, a=x-devicecaps, a=x-mediabw, a=label, plus m=video and m=applicationsharing lines; "
                "the far end answers audio and declines the rest (port 0); 1 s of media, then BYE.",
      expected="The DUT relays the INVITE with the audio m= line intact, the call is answered 200 with one m= line "
               "per offered one, and our BYE gets 200.")
def test_lync_sdp(sq):
    flows.rob.lync_sdp_call(sq)
    trace = sq.finish()
    sq.judge(checks.lync_sdp_accepted(trace, spec=flows.calls.out_call_spec(sq)))
