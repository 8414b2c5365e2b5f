"""Suite SRTP: SDES SRTP (RFC 4568, RFC 3711) toward the Mediation side as Lync negotiates it on a TLS trunk, judged
on the signalling and on the DUT's packets, which are authenticated with the keys of its own a=crypto line through
libsrtp; and no a=crypto ever on a TCP trunk. The Mediation-to-DUT direction waits for the media agent
(sipqual.flows.srtp)."""

from sipqual import case, checks, flows


@case("TC-SRTP-01", "SRTP required over TLS: SAVP, AES_CM_128_HMAC_SHA1_80, no clear RTP",
      requirements=["SRTP-01", "SRTP-02", "SRTP-04"], needs=["srtp"], transports=["tls"],
      procedure="Mediation side calls the outbound number over TLS offering m=audio RTP/SAVP with one Lync-like "
                "a=crypto line (AES_CM_128_HMAC_SHA1_80, a fresh key, lifetime 2^31); the far end answers and "
                "streams G.711; after 2 s the Mediation side hangs up. The DUT's RTP toward the Mediation side is "
                "authenticated and decrypted with the key of the DUT's answer (libsrtp). The Mediation side sends "
                "no media yet (Mediation-to-DUT SRTP needs the media agent).",
      expected="200 with m=audio RTP/SAVP and exactly one a=crypto with the offered tag and suite "
               "AES_CM_128_HMAC_SHA1_80; every RTP packet from the DUT to the Mediation side authenticates with that "
               "key (no cleartext, no failed tag), at least 25 of them; call cleared on both legs.")
def test_srtp_required(sq):
    flows.srtp.out_call(sq)
    trace = sq.finish()
    sq.judge(checks.srtp_call(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-SRTP-02", "SRTP optional: AVP offer with crypto; either DUT answer accepted",
      requirements=["SRTP-03"], needs=["srtp"], transports=["tls"],
      procedure="Mediation side calls the outbound number over TLS offering m=audio RTP/AVP with an a=crypto line "
                "(MS-SDPEXT optional SRTP); the far end answers and streams G.711; after 2 s the Mediation side "
                "hangs up.",
      expected="200 (a DUT claiming SRTPMode Required may refuse with 488, since Lync in that mode never sends such "
               "an offer): either RTP/SAVP with one a=crypto of ours and SRTP toward the Mediation side that "
               "authenticates with the DUT's key, or RTP/AVP without a=crypto and cleartext RTP; never RTP/AVP "
               "with a=crypto.")
def test_srtp_optional(sq):
    flows.srtp.out_call(sq, proto="RTP/AVP")
    trace = sq.finish()
    sq.judge(checks.srtp_optional_call(trace, spec=flows.calls.out_call_spec(sq), mode=flows.srtp.srtp_mode(sq)))


@case("TC-SRTP-05", "Only an unsupported crypto suite offered: 488 or fallback",
      requirements=["SRTP-02", "SRTP-07"], needs=["srtp"], transports=["tls"],
      procedure="Mediation side calls the outbound number over TLS offering m=audio RTP/SAVP with one a=crypto line "
                "of a registered suite the DUT does not claim (the first of AES_CM_128_HMAC_SHA1_32, "
                "AES_256_CM_HMAC_SHA1_80, AES_192_CM_HMAC_SHA1_80 missing from pics.srtp_suites).",
      expected="SRTPMode Required: 488 and no call left up toward the far end; Optional: 488 or 200 with RTP/AVP "
               "and no a=crypto; never an answer with a suite we did not offer.")
def test_srtp_unsupported_suite(sq):
    suite = flows.srtp.unsupported_suite(sq)
    mode = flows.srtp.srtp_mode(sq)
    flows.srtp.out_call(sq, cryptos=[flows.srtp.crypto_line(1, suite)], far=mode == "optional")
    trace = sq.finish()
    sq.judge(checks.unsupported_suite_refused(trace, spec=flows.calls.out_call_spec(sq), mode=mode, suite=suite))


@case("TC-SRTP-07", "Never a=crypto on a TCP trunk",
      requirements=["RFC4568-03", "SRTP-01"], transports=["tcp"],
      procedure="On the TCP trunk the far end calls the inbound number (the DUT offers to the Mediation side); the "
                "Mediation side answers with plain RTP/AVP and hangs up after 1 s.",
      expected="No SDP from the DUT to the Mediation side carries a=crypto or RTP/SAVP (SDES keys travel only over "
               "TLS; SRTPMode is NotSupported on TCP).")
def test_no_crypto_on_tcp(sq):
    flows.calls.in_call(sq, hold_ms=1000)
    trace = sq.finish()
    sq.judge(checks.no_crypto_on_tcp(trace, ms_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip,
                                     spec=flows.calls.in_call_spec(sq)))


@case("TC-SRTP-08", "SRTCP present and authenticated",
      requirements=["RFC3711-02", "SRTP-04"], needs=["srtp"], transports=["tls"],
      procedure="As TC-SRTP-01; the far end also sends an RTCP receiver report with SDES every second, which the "
                "DUT relays toward the Mediation side.",
      expected="RTCP from the DUT to the Mediation side's RTCP port is SRTCP that libsrtp authenticates with the key "
               "of the DUT's a=crypto answer (E flag, index, tag), at least one compound; its RTP as TC-SRTP-01.")
def test_srtcp(sq):
    flows.srtp.out_call(sq)
    trace = sq.finish()
    sq.judge(checks.srtp_call(trace, spec=flows.calls.out_call_spec(sq), rtcp=True))


@case("TC-SRTP-04", "MKI variants (with and without): symmetric answer, MKI length",
      requirements=["SRTP-05"], needs=["srtp"], transports=["tls"],
      procedure="Mediation side calls the outbound number over TLS offering m=audio RTP/SAVP with two "
                "AES_CM_128_HMAC_SHA1_80 lines as Lync endpoints do: tag 1 with an MKI (|2^31|1:1), tag 2 without; "
                "the far end answers and streams G.711; after 2 s the Mediation side hangs up.",
      expected="200 RTP/SAVP with one a=crypto of an offered tag, with an MKI iff the chosen line had one; the DUT's "
               "SRTP toward the Mediation side authenticates with that key with the MKI of the answered length "
               "between the payload and the tag (none without).")
def test_srtp_mki(sq):
    flows.srtp.out_call(sq, cryptos=[flows.srtp.crypto_line(1, mki="1:1"), flows.srtp.crypto_line(2)])
    trace = sq.finish()
    sq.judge(checks.srtp_call(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-SRTP-03", "IN call: SRTP offer from the DUT answered per mode",
      requirements=["SRTP-01", "SRTP-02", "SRTP-04"], needs=["srtp"], transports=["tls"],
      procedure="The far end calls the inbound number; the DUT offers to the Mediation side over TLS; our callee "
                "accepts the DUT's AES_CM_128_HMAC_SHA1_80 line (RTP/SAVP, its tag, a fresh key of ours), the far "
                "caller streams G.711, and the Mediation side hangs up after 2 s.",
      expected="The DUT's offer is RTP/SAVP (SRTPMode Required; Optional: RTP/AVP) with an AES_CM_128_HMAC_SHA1_80 "
               "a=crypto line holding a valid key; its RTP toward the Mediation side then authenticates with the key "
               "of the line we accepted (at least 25 packets, none cleartext); call cleared on both legs.")
def test_dut_srtp_offer(sq):
    flows.srtp.in_call(sq)
    trace = sq.finish()
    sq.judge(checks.dut_srtp_offer(trace, spec=flows.calls.in_call_spec(sq), mode=flows.srtp.srtp_mode(sq)))


@case("TC-SRTP-06", "SRTP re-keyed on hold and resume: new keys both ways, audio goes on, rollover counter right",
      requirements=["SRTP-04", "RFC4568-02"], needs=["srtp"], transports=["tls"],
      procedure="Mediation side calls the outbound number over TLS offering RTP/SAVP with a fresh "
                "AES_CM_128_HMAC_SHA1_80 key; both sides' media come from sipqual media agents (ours SRTP through "
                "libsrtp, the far end's plain RTP), each starting its RTP sequence numbers 125 packets before the "
                "wrap; after 1 s the Mediation side holds (re-INVITE, a=sendonly, a new key), after 1 s resumes "
                "(re-INVITE, a=sendrecv, another new key), and hangs up 1 s later. Our agent decrypts with the key of "
                "each answer and sends with the key of its newest offer once that offer is answered.",
      expected="Each re-INVITE answered 200 RTP/SAVP with one a=crypto of the offered tag; after the resume every "
               "SRTP packet from the DUT authenticates with the key of its resume answer, across the sequence wrap "
               "(rollover counter); our SRTP sent with the resume key reaches the far end as RTP (the DUT decrypts "
               "with our new key).")
def test_srtp_rekey_hold_resume(sq):
    flows.srtp.out_call_rekey(sq)
    trace = sq.finish()
    sq.judge(checks.srtp_rekeyed(trace, spec=flows.calls.out_call_spec(sq)))
