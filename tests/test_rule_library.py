"""Every registered rule, read through the real capture reader from crafted captures (tests/fixtures/sip, made by
make_fixtures.py): it holds on a passing capture that exercises it, and on its failing twin it reports the faulty
frame, with nothing else newly broken (the fault is exactly what the rule judges)."""

import importlib.util
from functools import lru_cache
from pathlib import Path

import pytest

from sipqual.rules import REGISTRY, run_all
from sipqual.trace import read_trace
from sipqual.verdict import SEVERITIES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sip"
DUT = "192.0.2.1"
UAS, UAC, CANCEL, OPTIONS = "good-uas-call", "good-uac-call-tcp", "good-cancel", "good-options"
SRTP_UDP, SRTP_TLS = "good-srtp-udp", "good-srtp-tls"
TRANSFER, TIMER = "good-transfer", "good-session-timer"

#: rule -> the good capture that exercises it
PASSING = {
    "RFC3261-01": UAS, "RFC3261-02": UAS, "RFC3261-03": CANCEL, "RFC3261-04": UAS, "RFC3261-05": UAS,
    "RFC3261-06": UAS, "RFC3261-08": UAC, "RFC3261-09": CANCEL, "RFC3261-10": UAC, "RFC3261-12": UAS,
    "RFC3261-13": OPTIONS, "RFC3261-17": UAC, "RFC3261-20": UAS, "RFC3262-01": UAS, "RFC3262-02": UAS, "RFC3262-03": UAC,
    "RFC3262-04": UAC, "RFC3264-01": UAS, "RFC3264-02": UAS, "RFC3264-03": UAS, "RFC3264-04": UAS,
    "RFC3264-05": UAS, "RFC3311-02": UAS, "RFC3311-03": UAS, "RFC4733-01": UAS, "MED-03": UAS, "RFC3261-21": UAC, "RFC3325-01": UAC, "RFC3325-02": UAC, "RFC3323-01": UAC,
    "RFC3326-01": UAS, "RFC4028-01": UAS, "RFC4028-03": UAS, "RFC4028-05": UAC, "RFC4568-01": SRTP_UDP,
    "RFC4568-02": SRTP_UDP, "RFC4568-03": SRTP_TLS, "RFC5806-01": UAC, "RFC7044-01": UAC,
    "RFC3515-01": TRANSFER, "RFC3515-02": TRANSFER, "RFC3891-01": TRANSFER, "RFC3261-11": TIMER,
    "RFC3261-19": TIMER, "RFC4028-04": TIMER,
}

#: (failing capture, its good twin, rule, frame of the violation[, severity of that finding when below the rule's])
FAILING = [
    ("fail-RFC3261-01", UAS, "RFC3261-01", 8, "R"),          # only Max-Forwards missing: a proxy adds it
    ("fail-RFC3261-02", UAS, "RFC3261-02", 5),
    ("fail-RFC3261-03", CANCEL, "RFC3261-03", 3),
    ("fail-RFC3261-04", UAS, "RFC3261-04", 8),
    ("fail-RFC3261-05", UAS, "RFC3261-05", 11, "R"),         # a CSeq gap; a lower CSeq would be M
    ("fail-RFC3261-06", UAS, "RFC3261-06", 3),
    ("fail-RFC3261-08", UAS, "RFC3261-08", 6),
    ("fail-RFC3261-09", CANCEL, "RFC3261-09", 3),
    ("fail-RFC3261-09-uas", CANCEL, "RFC3261-09", 10),
    ("fail-RFC3261-10", UAC, "RFC3261-10", 6, "R"),          # the ACK reuses the INVITE's branch
    ("fail-RFC3261-10-noack", UAC, "RFC3261-10", 5),
    ("fail-RFC3261-11", TIMER, "RFC3261-11", 4, "R"),        # off the T1..T2 schedule
    ("fail-RFC3261-12", UAS, "RFC3261-12", 2),
    ("fail-RFC3261-13", OPTIONS, "RFC3261-13", 2),
    ("fail-RFC3261-17", UAC, "RFC3261-17", 4),
    ("fail-RFC3261-19", TIMER, "RFC3261-19", 2),
    ("fail-RFC3261-20", UAS, "RFC3261-20", 3),
    ("fail-RFC3262-01", UAS, "RFC3262-01", 3),
    ("fail-RFC3262-02", UAS, "RFC3262-02", 3),
    ("fail-RFC3262-03", UAC, "RFC3262-03", 4),
    ("fail-RFC3262-04", UAC, "RFC3262-04", 2),
    ("fail-RFC3264-01", UAS, "RFC3264-01", 3),
    ("fail-RFC3264-02", UAS, "RFC3264-02", 3),
    ("fail-RFC3264-03", UAS, "RFC3264-03", 3),
    ("fail-RFC3264-04", UAS, "RFC3264-04", 8),
    ("fail-RFC3264-05", UAS, "RFC3264-05", 8),
    ("fail-RFC3311-02", UAS, "RFC3311-02", 9),
    ("fail-RFC3311-03", UAS, "RFC3311-03", 6),
    ("fail-RFC3323-01", UAC, "RFC3323-01", 2),
    ("fail-RFC3325-01", UAC, "RFC3325-01", 2),
    ("fail-RFC3325-02", UAC, "RFC3325-02", 2),
    ("fail-RFC3326-01", UAS, "RFC3326-01", 13),
    ("fail-RFC4028-01", UAS, "RFC4028-01", 8),
    ("fail-RFC4028-03", UAS, "RFC4028-03", 6),
    ("fail-RFC4028-04", TIMER, "RFC4028-04", 8),
    ("fail-RFC4028-05", UAC, "RFC4028-05", 2),
    ("fail-RFC3515-01", TRANSFER, "RFC3515-01", 13),
    ("fail-RFC3515-02", TRANSFER, "RFC3515-02", 6),
    ("fail-RFC3891-01", TRANSFER, "RFC3891-01", 8),
    ("fail-RFC4568-01", SRTP_UDP, "RFC4568-01", 2),
    ("fail-RFC4568-02", SRTP_UDP, "RFC4568-02", 2),
    (SRTP_UDP, SRTP_TLS, "RFC4568-03", 2),
    ("fail-RFC4733-01", UAS, "RFC4733-01", 3),
    ("fail-MED-03", UAS, "MED-03", 3),
    ("fail-RFC3261-21", UAC, "RFC3261-21", 2, "R"),          # misspelled in Supported: the feature is lost
    ("fail-RFC3261-21-require", UAC, "RFC3261-21", 2),       # unknown in Require: 420, the call fails
    ("fail-RFC5806-01", UAC, "RFC5806-01", 2),
    ("fail-RFC7044-01", UAC, "RFC7044-01", 2),
]


@lru_cache(maxsize=None)
def findings(name: str) -> tuple:
    path = FIXTURES / f"{name}.pcapng"
    keys = FIXTURES / f"{name}.keys"
    trace = read_trace(path, keys if keys.exists() else None, [5061] if keys.exists() else [])
    assert trace.sip and not trace.findings, f"{name}: reader problems {trace.findings}"
    return tuple(run_all(trace, {DUT}))


@pytest.mark.parametrize("rule", sorted(PASSING))
def test_rule_holds_on_its_passing_capture(rule):
    found = [f for f in findings(PASSING[rule]) if f.rule == REGISTRY[rule].label]
    assert any(f.ok for f in found), f"{PASSING[rule]} does not exercise {rule}"
    assert [f.message for f in found if not f.ok] == []


@pytest.mark.parametrize("name, twin, rule, frame, severity", [(*e[:4], e[4] if len(e) > 4 else None) for e in FAILING],
                         ids=[f"{e[2]}:{e[0]}" for e in FAILING])
def test_rule_reports_the_faulty_frame(name, twin, rule, frame, severity):
    label = REGISTRY[rule].label
    bad = [f for f in findings(name) if not f.ok and f.rule == label]
    want = severity or REGISTRY[rule].severity
    assert any(frame in f.frames and f"(frame {frame})" in f.message and f.severity == want for f in bad), \
        [(f.severity, f.message) for f in bad]
    assert all(" expected " in f.message and ", observed " in f.message for f in bad)
    rank = "MROI"       # no finding above its rule's severity
    assert all(rank.index(f.severity) >= rank.index(REGISTRY[rule].severity) and f.requirements[0] == rule
               for f in bad)
    newly_broken = {f.rule for f in findings(name) if not f.ok} - {f.rule for f in findings(twin) if not f.ok}
    assert newly_broken <= {label}, f"{name} also breaks {newly_broken - {label}}"


def test_every_registered_rule_has_a_passing_and_a_failing_capture():
    assert set(PASSING) == set(REGISTRY)
    assert {e[2] for e in FAILING} == set(REGISTRY)


def test_registry_entries_are_complete():
    for r in REGISTRY.values():
        assert r.severity in SEVERITIES and r.description and r.requirements[0] == r.id, r


def test_fixtures_regenerate_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".pcapng", ".keys"))
    for name in made:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name
