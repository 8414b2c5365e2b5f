"""Suite DTMF (TC-DTMF-01/02, MED-03) on crafted captures: digits our agent sends as RFC 4733 events must come out
of the DUT on the other leg as RFC 4733 events, all and in order. The lab shows telephone-event stripped from the
DUT's SDP (faulty-dtmf-stripped, tests/test_lab.py); these prove the check's own failures: digits lost, none
relayed (with the receiving agent's in-band detection quoted), and our own digits missing (an ERROR)."""

from __future__ import annotations

import pytest

from test_checks_em import CALLER_PORT, DUT, DUT_TO_CALLEE, DUT_TO_CALLER, FAR, MS, WON_PORT, Legs, _bad, _events, \
    _spec

from sipqual import checks


def _call(tmp_path, sent=(1, 2, 11), relayed=(1, 2, 11), from_caller=True):
    """OUT call answered; then our agent on one side sends ``sent`` and the DUT passes ``relayed`` to the other."""
    call = Legs(MS, FAR).invite().answered("cb")
    if from_caller:
        _events(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, sent, 0x5157D7F0)
        _events(call.c, DUT, DUT_TO_CALLEE, FAR, WON_PORT, relayed, 0x77)
    else:
        _events(call.c, FAR, WON_PORT, DUT, DUT_TO_CALLEE, sent, 0x5157D7F0)
        _events(call.c, DUT, DUT_TO_CALLER, MS, CALLER_PORT, relayed, 0x77)
    return call.trace(tmp_path)


@pytest.mark.parametrize("from_caller", [True, False])
def test_digits_relayed_as_events_pass(tmp_path, from_caller):
    found = checks.dtmf_relayed(_call(tmp_path, from_caller=from_caller), spec=_spec(MS, FAR), digits="12#",
                                from_caller=from_caller)
    assert _bad(found) == [] and "1 2 # in PT 101" in found[0].message and len(found[0].frames) == 3, found


def test_a_lost_digit_fails_med03(tmp_path):
    bad = _bad(checks.dtmf_relayed(_call(tmp_path, relayed=(1, 11)), spec=_spec(MS, FAR), digits="12#",
                                   from_caller=True))
    assert [f.rule for f in bad] == ["MED-03"] and "observed only 1 #" in bad[0].message and bad[0].frames, bad


def test_digits_only_in_band_fail_med03_quoting_what_our_agent_heard(tmp_path):
    bad = _bad(checks.dtmf_relayed(_call(tmp_path, relayed=()), spec=_spec(MS, FAR), digits="12#",
                                   from_caller=True, heard_inband="12#"))
    assert [f.rule for f in bad] == ["MED-03"], bad
    assert "no telephone-event from the DUT" in bad[0].message and "PT [0] only" in bad[0].message
    assert "heard 1 2 # as tones in the audio" in bad[0].message and bad[0].frames


def test_reverse_direction_is_not_taken_for_the_relay(tmp_path):
    # events relayed to the caller do not count for digits the caller sent
    call = Legs(MS, FAR).invite().answered("cb")
    _events(call.c, MS, CALLER_PORT, DUT, DUT_TO_CALLER, (1, 2), 0x5157D7F0)
    _events(call.c, DUT, DUT_TO_CALLER, MS, CALLER_PORT, (1, 2), 0x77)
    bad = _bad(checks.dtmf_relayed(call.trace(tmp_path), spec=_spec(MS, FAR), digits="12", from_caller=True))
    assert [f.rule for f in bad] == ["MED-03"], bad


def test_our_digits_missing_is_an_error(tmp_path):
    with pytest.raises(checks.StimulusMissing):
        checks.dtmf_relayed(_call(tmp_path, sent=(1,)), spec=_spec(MS, FAR), digits="12#", from_caller=True)
