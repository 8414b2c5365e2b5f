"""Suite ST: session timers (RFC 4028). The session interval follows the duration profile: quick 90 s (RFC 4028's
minimum), full 1800 s, so each case lasts about half the interval to the whole interval."""

from sipqual import case, checks, flows


@case("TC-ST-01", "EnableSessionTimer=False: a session timer the DUT requests is honoured and the call stays up "
      "across its refresh", requirements=["CFG-05", "RFC4028-01", "RFC4028-03", "RFC4028-04"], long=True,
      procedure="IN call: the far caller asks Session-Expires (quick 90 s, full 1800 s) with refresher=uac and "
                "refreshes with an UPDATE at half the interval. The Mediation side (no timer of its own) honours "
                "the timer the DUT's INVITE carries, naming the DUT refresher when it named nobody, answers the "
                "refresh and hangs up 1 s later.",
      expected="With a timer in the DUT's INVITE: the DUT refreshes the Mediation leg within half the interval "
               "+ 10 s, the call stays up across the refresh, and the Mediation side's BYE is relayed. Without "
               "one: recorded, and the call completes.")
def test_session_timer_honoured(sq):
    flows.st.in_call_dut_timer(sq, flows.st.interval(sq))
    trace = sq.finish()
    sq.judge(checks.session_timer_honoured(trace, spec=flows.calls.in_call_spec(sq)))


@case("TC-ST-02", "Session timer on: the DUT's 2xx names the refresher and the refresher refreshes at about half "
      "the interval", requirements=["CFG-05", "RFC4028-03", "RFC4028-04"], long=True, needs=["session_timers"],
      procedure="OUT call: the Mediation side's INVITE says Supported: timer, Session-Expires (quick 90 s, full "
                "1800 s);refresher=uas, Min-SE 90. The far end answers with that timer and, as the refresher behind "
                "the DUT, refreshes with an UPDATE at half the interval. The Mediation side answers the DUT's "
                "refresh and hangs up 1 s later.",
      expected="The DUT's 200 carries Session-Expires with refresher=uas (copied from the request, RFC 4028 "
               "section 9); the DUT refreshes the Mediation leg (re-INVITE or UPDATE with Session-Expires) within "
               "half the interval + 10 s (relayed or its own: recorded); the call stays up until the Mediation "
               "side's BYE, which is relayed.")
def test_session_refreshed_by_dut(sq):
    flows.st.out_call_dut_refreshes(sq, flows.st.interval(sq))
    trace = sq.finish()
    sq.judge(checks.session_refreshed_by_dut(trace, spec=flows.calls.out_call_spec(sq)))


@case("TC-ST-03", "422 with Min-SE: the retried INVITE carries a session interval at least Min-SE",
      requirements=["RFC4028-02"], needs=["session_timers"],
      procedure="IN call: the far caller asks Session-Expires 90 (Min-SE 90); the Mediation side answers the DUT's "
                "INVITE 422 Session Interval Too Small with Min-SE 1800. A far caller that gets the 422 ACKs it and "
                "retries at once with Session-Expires and Min-SE 1800; the Mediation side answers the retry, 1 s of "
                "media, and hangs up.",
      expected="The DUT ACKs the 422 and either relays it with Min-SE at least 1800 (a proxy: the retry is then the "
               "far caller's, carried on with its interval) or retries itself with Session-Expires and Min-SE at "
               "least 1800; which one is recorded; the retried call completes and the BYE is relayed.")
def test_session_too_small_retried(sq):
    flows.st.in_call_session_too_small(sq)
    trace = sq.finish()
    sq.judge(checks.session_too_small_retried(trace, spec=flows.calls.in_call_spec(sq),
                                              min_se=flows.st.MIN_SE_422))


@case("TC-ST-04", "Missing refresh: the DUT sends BYE before the session expires",
      requirements=["RFC4028-04"], long=True, needs=["session_timers"],
      procedure="OUT call: the Mediation side's INVITE asks Session-Expires (quick 90 s, full 1800 s);"
                "refresher=uac and never refreshes; the far end answers with the same timer and never refreshes "
                "either. Both wait for the DUT.",
      expected="The DUT's 200 names refresher=uac; with no refresh, the DUT sends BYE to the Mediation side after "
               "half the interval and before the session expires (RFC 4028 section 10 recommends expiry - min(32, "
               "interval/3); recorded) and releases the far leg too.")
def test_session_expiry_bye(sq):
    flows.st.out_call_refresh_withheld(sq, flows.st.interval(sq))
    trace = sq.finish()
    sq.judge(checks.session_expiry_bye(trace, spec=flows.calls.out_call_spec(sq)))
