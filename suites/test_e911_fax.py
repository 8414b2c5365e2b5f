"""Suites E911 and FAX: a Lync emergency call's PIDF-LO location passed on unchanged by an SBC; a T.38 re-INVITE the
Mediation side refuses (the call stays in G.711); an analog fax device's call in G.711 pass-through."""

from sipqual import case, checks, flows


@case("TC-E911-01", "EnablePIDFLOSupport: multipart INVITE with PIDF-LO passed unaltered (SBC)",
      requirements=["E911-01"], needs=["e911"],
      procedure="The Mediation side places an emergency call to the outbound number: its INVITE carries a "
                "multipart/mixed body (the SDP offer and an application/pidf+xml PIDF-LO civic location with a "
                "Content-ID), Geolocation: <cid:...> and Geolocation-Routing: yes; the far end (the E9-1-1 "
                "provider) answers; 1.5 s of media; the Mediation side hangs up.",
      expected="DUT's INVITE to the far end carries the PIDF-LO part byte for byte (it may rewrite the SDP part), a "
               "Geolocation header referencing that part's Content-ID and Geolocation-Routing unchanged; the call "
               "is answered.")
def test_pidf_lo_passed_unaltered(sq):
    flows.fea.emergency_call(sq)
    trace = sq.finish()
    sq.judge(checks.pidf_unchanged(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-FAX-01", "T.38 re-INVITE toward the Mediation side answered 488: the call continues in G.711",
      requirements=["FAX-01"], needs=["fax"],
      procedure="The far end (a PSTN fax gateway) calls the inbound number; the Mediation side answers; 1 s into "
                "the call the far end re-INVITEs to T.38 (m=image udptl t38); the Mediation side (which does not "
                "handle T.38) answers the DUT's re-INVITE 488 Not Acceptable Here; both sides keep sending G.711 "
                "for 1.5 s; the far end hangs up.",
      expected="DUT passes the re-INVITE on and the 488 back (or refuses T.38 itself), never accepts T.38 toward the "
               "far end, does not tear the call down, and keeps relaying G.711 RTP both ways until the BYE.")
def test_t38_refused_call_stays_g711(sq):
    flows.fea.fax_t38_refused(sq)
    trace = sq.finish()
    sq.judge(checks.t38_refused(trace, spec=flows.calls.in_call_spec(sq)))


@case("TC-FAX-02", "Analog fax device call with media bypass: G.711 pass-through", requirements=["FAX-01"],
      needs=["fax", "media_bypass"],
      procedure="With media bypass (AnalogFax keeps fax media off the Mediation Server) the Mediation side places "
                "a call for a Lync analog fax device to the outbound number offering PCMU only; the far end answers "
                "in PCMU; 2 s of media both ways; the Mediation side hangs up.",
      expected="DUT keeps the call in G.711 (PCMU in both legs' SDP and RTP, both ways) and never offers T.38 on "
               "either leg; BYE relayed.")
def test_fax_g711_passthrough(sq):
    flows.fea.fax_g711(sq)
    trace = sq.finish()
    spec = flows.calls.out_call_spec(sq)
    spec.codec_pt = 0
    sq.judge(checks.g711_passthrough(trace, spec=spec) + checks.basic_call(trace, spec=spec, hangup_by="caller"))
