"""Suites TRN and BAS: basic G.711 calls in both directions through the DUT."""

from sipqual import case, checks, flows


@case("TC-TRN-01", "OUT call to the DUT's trunk port; Mediation side hangs up",
      requirements=["TRN-01", "TRN-02", "MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="Mediation side calls the outbound number on the DUT's trunk port (PCMU, PCMA offered); the far "
                "end answers; both stream G.711 for 2 s; the Mediation side sends BYE.",
      expected="DUT relays the call, 200 with a G.711 answer on the Mediation leg, RTP both ways on both legs "
               "through the DUT, BYE answered and relayed.")
def test_out_call(sq):
    flows.calls.out_call(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.out_call_spec(sq), hangup_by="caller"))


@case("TC-TRN-02", "IN call to the Mediation port; Mediation side answers and hangs up",
      requirements=["TRN-01", "TRN-03", "MED-01", "MED-02", "RFC3261-14"], severity="M",
      procedure="The far end calls the inbound number through the DUT; the Mediation side answers on its "
                "listening port (5068 TCP / 5067 TLS), streams G.711 for 2 s and sends BYE.",
      expected="DUT sends the INVITE over TCP/TLS to the Mediation port, RTP both ways on both legs, BYE relayed "
               "to the far end.")
def test_in_call(sq):
    flows.calls.in_call(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=flows.calls.in_call_spec(sq), hangup_by="callee"))


def _tls_ports(sq) -> list[int]:
    return sorted({sq.pixit["dut"]["ports"]["tls"], sq.pixit["mediation"]["ports"]["tls"]})


@case("TC-TRN-03", "TLS: DUT as server on 5067, mutual TLS (client certificate requested and validated)",
      requirements=["TLS-01"], needs=["mtls"], transports=["tls"],
      procedure="The Mediation side connects to the DUT's TLS port with the pool certificate and sends OPTIONS; "
                "then a second connection presents no client certificate and sends an OPTIONS probe.",
      expected="The DUT sends CertificateRequest and answers the OPTIONS on the certified connection; it refuses "
               "the connection without a certificate (alert or close), never answering its OPTIONS.")
def test_tls_dut_server(sq):
    flows.trn.mutual_tls_server(sq)
    trace = sq.finish()
    sq.judge(checks.mutual_tls_server(trace, test_id=sq.test_id, probe_id=flows.trn.probe_id(sq),
                                      our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip, dut_port=sq.dut_port,
                                      tls_ports=_tls_ports(sq)))


@case("TC-TRN-04", "TLS: DUT as client to the Mediation side on 5067 validates the pool certificate and presents "
      "its own", requirements=["TLS-01", "TLS-02"], needs=["mtls"], transports=["tls"],
      procedure="The far end calls the inbound number; the DUT opens TLS to the Mediation port, where the Mediation "
                "front presents the pool certificate and requires a client certificate; 1 s of media, BYE.",
      expected="On the DUT's TLS connection to the Mediation port the DUT presents its certificate, completes the "
               "handshake with the pool certificate and sends the call on it.")
def test_tls_dut_client(sq):
    flows.trn.dut_as_tls_client(sq)
    trace = sq.finish()
    p = sq.pixit["mediation"]
    sq.judge(checks.basic_call(trace, spec=flows.calls.in_call_spec(sq), hangup_by="callee")
             + checks.dut_tls_client(trace, dut_ip=sq.topo.ms.peer_ip, ms_ip=sq.topo.ms.ip, ms_port=sq.ms_port,
                                     pool_names=[p["pool_fqdn"], p["server_fqdn"]], tls_ports=_tls_ports(sq)))


@case("TC-TRN-07", "DUT certificate CN/SAN equals the configured peer FQDN",
      requirements=["TLS-03"], transports=["tls"],
      procedure="The Mediation side connects to the DUT's TLS port and sends OPTIONS; the DUT's certificate is "
                "read from the (decrypted) handshake.",
      expected="The DUT's certificate names the gateway FQDN configured in Topology Builder (pixit.dut.fqdn) in "
               "its SAN dNSNames (or its CN when it has no SAN).")
def test_tls_dut_certificate_name(sq):
    flows.trn.dut_certificate(sq)
    trace = sq.finish()
    sq.judge(checks.dut_certificate_names(trace, dut_ip=sq.topo.ms.peer_ip, dut_port=sq.dut_port,
                                          dut_fqdn=sq.pixit["dut"]["fqdn"], tls_ports=_tls_ports(sq)))


@case("TC-TRN-08", "Connection loss and re-establishment between calls; pipelined and split TCP segments",
      requirements=["TRN-09", "TLS-05"],
      procedure="An IN call (Mediation side answers and hangs up after 1 s); then the Mediation side closes the "
                "DUT's connection to the Mediation port; then a second IN call. Then a Mediation-side agent "
                "connects to the DUT's trunk port and sends two OPTIONS in one TCP segment (one TLS record) and one "
                "OPTIONS split across two segments (records) 0.2 s apart.",
      expected="The second call reaches the Mediation side on a new connection (a new TLS session on TLS) and "
               "completes like the first; each of the three OPTIONS gets a final response (never 400 or silence).")
def test_reconnect_and_framing(sq):
    flows.trn.reconnect_and_framing(sq)
    trace = sq.finish()
    from dataclasses import replace

    spec = flows.calls.in_call_spec(sq)
    first, second = (replace(spec, test_id=i) for i in flows.trn.reconnect_ids(sq))
    sq.judge(checks.basic_call(trace, spec=first, hangup_by="callee")
             + checks.reconnected(trace, first=first, second=second)
             + checks.basic_call(trace, spec=second, hangup_by="callee")
             + checks.framing_handled(trace, our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip,
                                      test_id=flows.trn.framer_id(sq)))


@case("TC-TRN-10", "IPv6 basic call (OUT call over IPv6 toward the Mediation side)", requirements=["TRN-07"],
      needs=["ipv6"],
      procedure="The lab gives the Mediation-side link IPv6 addresses (2001:db8:10::10 ours, 2001:db8:10::1 the "
                "DUT's); the Mediation side calls the outbound number over IPv6 (PCMU, PCMA offered); the far end "
                "(IPv4) answers; 1.5 s of G.711 both ways; the Mediation side hangs up.",
      expected="The DUT answers on IPv6 with an IPv6 SDP, RTP flows both ways on both legs, the BYE is answered 200 "
               "and relayed to the far end; N/A when the DUT does not claim IPv6.")
def test_ipv6_out_call(sq):
    spec = flows.trn.ipv6_out_call(sq)
    trace = sq.finish()
    sq.judge(checks.basic_call(trace, spec=spec, hangup_by="caller"))


@case("TC-TRN-05", "TLS negative: client certificates from an unknown CA, expired or missing are refused, no SIP",
      requirements=["TLS-02", "TLS-01"], needs=["mtls"], transports=["tls"],
      procedure="From the Mediation side, TLS connections to the DUT's trunk port, each sending an OPTIONS once its "
                "handshake is through: a control with the pool certificate; then a certificate from a rogue CA, an "
                "expired one (lab CA), none at all, and one whose SAN names wrong.lab.example instead of the pool.",
      expected="The control is answered; the rogue, expired and missing certificates are refused (TLS alert or "
               "close), none of their OPTIONS answered; the wrong-SAN one is recorded (a TLS server need not check "
               "its client's names).")
def test_tls_bad_client_certificates(sq):
    flows.sec.bad_client_certificates(sq)
    trace = sq.finish()
    sq.judge(checks.client_certificates_refused(trace, test_id=sq.test_id, our_ip=sq.topo.ms.ip,
                                                dut_ip=sq.topo.ms.peer_ip, tls_ports=_tls_ports(sq)))


@case("TC-TRN-06", "TLS 1.2-only peer accepted; the lowest TLS version the DUT accepts recorded",
      requirements=["TLS-04"], transports=["tls"],
      procedure="From the Mediation side, one TLS connection per version offered alone (1.0, 1.1, 1.2, 1.3) to the "
                "DUT's trunk port with the pool certificate; the TLS 1.2 one sends an OPTIONS.",
      expected="The TLS 1.2-only handshake completes and its OPTIONS is answered; the versions the DUT chose in its "
               "ServerHello are recorded, the lowest one named.")
def test_tls_versions(sq):
    flows.sec.tls_versions(sq)
    trace = sq.finish()
    sq.judge(checks.tls_versions_accepted(trace, test_id=sq.test_id, our_ip=sq.topo.ms.ip, dut_ip=sq.topo.ms.peer_ip,
                                          tls_ports=_tls_ports(sq)))
