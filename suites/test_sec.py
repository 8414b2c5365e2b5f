"""Suite SEC: sipqual's own security extension (issue 15; not in the requirement catalogue, listed apart from the
126 Lync cases): trusted sources, no cleartext SIP on a TLS trunk, topology hiding, the TLS version floor."""

from sipqual import case, checks, flows


@case("TC-SEC-01", "INVITE from an address outside the Mediation pool refused (403 or silence)",
      requirements=["SEC-01"],
      procedure="From a second address of ours on the Mediation side (the pool address + 30, not a pool member) the "
                "Mediation side calls the outbound number on the DUT's trunk port (on TLS with the pool's valid "
                "certificate, so only the source is wrong); no far end listens; the caller waits 4 s at most.",
      expected="The DUT answers 403 Forbidden or nothing at all, and sends no INVITE toward the far side.")
def test_untrusted_source(sq):
    src = flows.sec.untrusted_call(sq)
    trace = sq.finish()
    sq.judge(checks.untrusted_source_refused(trace, test_id=sq.test_id, source_ip=src, dut_ip=sq.topo.ms.peer_ip,
                                             dut_far_ip=sq.topo.far.peer_ip))


@case("TC-SEC-04", "TLS version and cipher floor: nothing below TLS 1.2, no weak cipher suites",
      requirements=["SEC-04"], needs=["tls"], transports=["tls"],
      procedure="From the Mediation side, TLS connections to the DUT's trunk port with the pool certificate: one per "
                "version offered alone (1.0, 1.1, 1.2, 1.3), then TLS 1.2 with one cipher suite at a time (ECDHE "
                "AES-GCM and ChaCha20, RSA AES-CBC and AES-GCM, 3DES, RC4, NULL, anonymous DH).",
      expected="The DUT refuses TLS 1.0 and 1.1 and every weak suite (no ServerHello choosing them); the suites it "
               "accepts are recorded.")
def test_tls_floor(sq):
    flows.sec.tls_versions(sq, ciphers=True)
    trace = sq.finish()
    sq.judge(checks.tls_versions_accepted(trace, test_id=sq.test_id, our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip,
                                          tls_ports=sorted({sq.pixit["dut"]["ports"]["tls"],
                                                            sq.pixit["mediation"]["ports"]["tls"]}), floor=True))


@case("TC-SEC-03", "Topology hiding: no address or name of one side in what the DUT sends to the other",
      requirements=["SEC-03"],
      procedure="An OUT call (the Mediation side calls the far end and hangs up after 1 s), then an IN call (the far "
                "end calls the Mediation side, which hangs up after 1 s). Every message the DUT sends to each side "
                "is searched for the other side's addresses and names.",
      expected="Nothing the DUT sends to the far side carries a Mediation-side address (ours, the DUT's own there) "
               "or the pool/server FQDN, and nothing it sends to the Mediation side carries a far-side address: not "
               "in Via, Contact, Record-Route, From/To, Call-ID, any other header (our marker too), the Request-URI, "
               "SDP o= or c=. Mandatory for the SBC role, informational for the others.")
def test_topology_hiding(sq):
    flows.sec.two_calls(sq)
    trace = sq.finish()
    ms_side, far_side = flows.sec.side_names(sq)
    sq.judge(checks.topology_hidden(trace, out_spec=flows.calls.out_call_spec(sq), in_spec=flows.calls.in_call_spec(sq),
                                    ms_side=ms_side, far_side=far_side,
                                    severity="M" if sq.profile.identity.get("role") == "sbc" else "I"))


@case("TC-SEC-02", "No cleartext SIP toward the Mediation side on a trunk configured for TLS",
      requirements=["SEC-02"], needs=["tls"], transports=["tls"],
      procedure="On the TLS trunk, an OUT call (the Mediation side calls the far end and hangs up after 1 s), then an "
                "IN call (the far end calls the Mediation side, which hangs up after 1 s).",
      expected="Every SIP message the DUT sends to the Mediation side is carried by TLS (read decrypted from the "
               "TLS connections); none over plain TCP or UDP. N/A when TLS is not claimed.")
def test_no_cleartext_on_tls(sq):
    flows.sec.two_calls(sq)
    trace = sq.finish()
    sq.judge(checks.no_cleartext_sip(trace, in_spec=flows.calls.in_call_spec(sq),
                                     out_spec=flows.calls.out_call_spec(sq)))
