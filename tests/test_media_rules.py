"""Every media rule (sipqual.rules.media), read through the real capture reader from crafted captures
(tests/fixtures/media, made by make_fixtures.py): it holds on a good capture that exercises it, and on the failing
capture made for it, it reports the faulty frame, with no other media rule broken (the fault is exactly what the rule
judges)."""

from functools import lru_cache
from pathlib import Path

import pytest

from sipqual.rules.media import MEDIA_RULES, evaluate_media
from sipqual.trace import read_trace
from sipqual.verdict import SEVERITIES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "media"
DUT = "192.0.2.1"

#: rule -> (the good capture that exercises it, the failing capture's frame of the violation)
CASES = {
    "RFC3550-01": ("good-call", 11),     # two sequence numbers skipped
    "RFC3550-02": ("good-call", 26),     # a new SSRC with no SDP exchanged
    "RFC3550-03": ("good-call", 14),     # RTCP compound starting with SDES
    "RFC3550-04": ("good-call", 78),     # 32 s without RTCP during a 36 s stream
    "RFC3551-01": ("good-call", 3),      # PCMU timestamps running at 16 kHz
    "RFC4733-02": ("good-call", 19),     # event code 20 where 0-15 was negotiated
    "RFC4733-03": ("good-call", 19),     # first event packet without the marker
    "RFC4733-04": ("good-call", 23),     # one end packet instead of three
    "RFC3711-01": ("good-srtp", 3),      # RTP/SAVP negotiated, cleartext G.711 sent
}


@lru_cache(maxsize=None)
def findings(name: str) -> tuple:
    trace = read_trace(FIXTURES / f"{name}.pcapng")
    assert trace.sip and trace.rtp and not trace.findings, f"{name}: reader problems {trace.findings}"
    return tuple(evaluate_media(trace, {DUT}))


def test_every_media_rule_has_fixtures_and_a_sound_declaration():
    assert set(CASES) == set(MEDIA_RULES)
    for r in MEDIA_RULES.values():
        assert r.severity in SEVERITIES and r.requirements[0] == r.id and r.description


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_holds_on_its_good_capture(rule):
    good = findings(CASES[rule][0])
    assert not [f.message for f in good if not f.ok]
    assert any(f.ok and f.rule == rule for f in good), f"{rule} was not exercised by {CASES[rule][0]}"


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_on_its_failing_capture_at_the_right_frame(rule):
    frame = CASES[rule][1]
    bad = [f for f in findings(f"fail-{rule}") if not f.ok]
    assert {f.rule for f in bad} == {rule}, [f.message for f in bad]
    assert any(frame in f.frames for f in bad), [f.message for f in bad]
    for f in bad:
        assert f.message.startswith(f"{rule}: expected ") and ", observed " in f.message
        assert f.message.endswith(f"(frame {', '.join(map(str, f.frames))})")


def test_media_the_dut_did_not_send_is_not_judged():
    assert not list(evaluate_media(read_trace(FIXTURES / "fail-RFC3550-01.pcapng"), {"192.0.2.99"}))
