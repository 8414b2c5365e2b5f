"""Runs for the report and bundle tests: a hand-made run directory (one case per verdict and an R failure, hostile
text in reasons and profiles, a password in the profile, private keys lying where a real run keeps them; written as
schema 1.1, without ``coverage``, unless a coverage is given), crafted case lists against the requirement catalogue
(every mandatory case, the real suites' shape), and a short real lab run through ``sipqual qualify`` (one case,
TCP; needs root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sipqual import catalogue
from sipqual.report.verdicts import counts_as, coverage_snapshot

ROOT = Path(__file__).resolve().parent.parent
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the namespace lab needs root")

HOSTILE = "<script>alert('x')</script>"
PASSWORD = "hunter2-secret"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def case(cid: str, transport: str | None, verdict: str, severity: str = "M", reason: str = "", **extra) -> dict:
    return {"id": cid, "title": f"title of {cid}", "requirements": ["OPT-01", "RFC3261-14"], "transport": transport,
            "verdict": verdict, "reason": reason or f"{verdict.lower()} reason", "evidence": [], "severity": severity,
            "findings": [], "duration_s": 1.0, "nodeid": f"suites/x.py::{cid}[{transport}]", **extra}


CASES = [
    case("TC-OPT-01", "tcp", "PASS", findings=[{"rule": "OPT-01", "requirements": ["OPT-01"], "severity": "M",
                                                "message": "OPT-01: 200 OK (frame 6)", "frames": [6], "ok": True}],
         evidence=["cases/TC-OPT-01-tcp/capture.pcapng", "cases/TC-OPT-01-tcp/sipp-ms/messages.log"],
         procedure="The Mediation side sends OPTIONS.", expected="A 200 OK with Allow and Supported."),
    case("TC-OPT-01", "tls", "FAIL", reason=f"OPT-01: expected 200, observed 503 {HOSTILE} (frame 9)",
         findings=[{"rule": "OPT-01", "requirements": ["OPT-01"], "severity": "M",
                    "message": f"OPT-01: expected 200, observed 503 {HOSTILE} (frame 9)", "frames": [9], "ok": False}]),
    case("TC-OPT-02", "tcp", "FAIL", severity="R", reason="OPT-02: expected Allow, observed none (frame 4)"),
    case("TC-SRTP-01", "tls", "NA", reason="the DUT profile does not claim 'srtp' (pics.srtp)"),
    case("TC-TRN-01", "tcp", "ERROR", reason="AgentError: sipp timed out"),
    case("TC-TRN-02", "tls", "NOT_RUN", reason="deselected"),
]

PROFILE = {
    "schema": "sipqual-dut/1",
    "identity": {"vendor": f"ACME {HOSTILE}", "product": "Edge 9000", "version": "1.2.3", "role": "sbc"},
    "kind": "external",
    "pixit": {"dut": {"fqdn": "sbc.lab.example", "ports": {"tcp": 5066, "tls": 5067}},
              "mediation": {"pool_fqdn": "mspool.lab.example", "server_fqdn": "ms1.lab.example",
                            "ports": {"tcp": 5068, "tls": 5067}, "password": PASSWORD},
              "far": {"transport": "udp", "port": 5060}, "transports": ["tcp", "tls"]},
    "pics": {"tls": True, "mtls": True, "srtp": False, "options_ping": False},
}


IMPLEMENTED = ("TC-OPT-01", "TC-TRN-01", "TC-TRN-02")   # what sipqual's suites implement today
REAL_SHAPE = [case(i, t, "PASS") for i in IMPLEMENTED for t in ("tcp", "tls")]


def catalogue_case(cid: str, transport: str | None, verdict: str, **extra) -> dict:
    """A case dict for catalogue case ``cid`` with the severity its declaration would carry."""
    entry = catalogue.get(cid)
    return case(cid, transport, verdict, entry.declared_severity, requirements=list(entry.requirements),
                title=entry.title, **extra)


def every_mandatory(pics: dict | None = PROFILE["pics"], verdict: str = "PASS") -> list[dict]:
    """One TCP case per catalogue case that is mandatory for a DUT with these PICS."""
    return [catalogue_case(c.id, "tcp", verdict) for c in catalogue.LYNC_CASES
            if counts_as(c.severity, pics) == "M"]


def coverage_of(cases: list[dict], implemented=None, transports=("tcp", "tls")) -> dict:
    """The coverage object the plugin would write for ``cases`` (implemented: their IDs unless given)."""
    ids = {c["id"] for c in cases} if implemented is None else set(implemented)
    return coverage_snapshot(cases, ids, list(transports), "0.1.0")


def write_run(root: Path, cases: list[dict] | None = None, name: str = "20260101-120000",
              coverage: dict | None = None, profile: dict | None = PROFILE, durations: str = "full") -> Path:
    """Write the run directory ``root/name`` and return it: schema 1.3 with ``coverage`` and ``durations`` when a
    coverage is given, else an older results.json (schema 1.1, no coverage record); ``profile=None`` leaves the
    profile (and its PICS) out."""
    run = root / name
    (run / "cases" / "TC-OPT-01-tcp" / "sipp-ms").mkdir(parents=True)
    (run / "cases" / "TC-OPT-01-tcp" / "capture.pcapng").write_bytes(b"not really a capture")
    (run / "cases" / "TC-OPT-01-tcp" / "sipp-ms" / "messages.log").write_text("OPTIONS sip:x SIP/2.0\n")
    (run / "lab" / "pki" / ".ca" / "lab").mkdir(parents=True)
    (run / "lab" / "pki" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (run / "lab" / "pki" / "dut.key").write_text(PRIVATE_KEY)
    (run / "lab" / "pki" / ".ca" / "lab" / "index.txt").write_text("V\t...\n")
    (run / "cases" / "TC-OPT-01-tcp" / "stray.pem").write_text(PRIVATE_KEY)
    (run / "junit.xml").write_text("<testsuites/>\n")
    cases = CASES if cases is None else cases
    counts = {v: sum(c["verdict"] == v for c in cases) for v in ("PASS", "FAIL", "NA", "ERROR", "NOT_RUN")}
    doc = {"schema_version": "1.1" if coverage is None else "1.3", "suite_version": "0.1.0",
           "started": "2026-01-01T12:00:00+00:00",
           "finished": "2026-01-01T12:01:00+00:00",
           "dut": {"vendor": PROFILE["identity"]["vendor"], "product": "Edge 9000", "version": "1.2.3", "role": "sbc",
                   "profile": "/nonexistent/acme.yaml", "kind": "external"},
           "summary": counts, "profile": profile, "lab": {"tag": "abc123"}, "cases": cases}
    if profile is None:
        del doc["profile"]
    if coverage is not None:
        doc["coverage"] = coverage
        doc["durations"] = {"profile": durations}
    (run / "results.json").write_text(json.dumps(doc, indent=2))
    return run


def qualify_one_case(root: Path) -> subprocess.CompletedProcess:
    """README command one, cut down to one case on TCP: ``sipqual qualify ... -k "TC-OPT-01 and tcp"``."""
    argv = [sys.executable, "-m", "sipqual.cli", "qualify", "--dut", str(ROOT / "lab/duts/reference-sbc.yaml"),
            "--reports", str(root), "-k", "TC-OPT-01 and tcp"]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
