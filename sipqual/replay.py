"""Judge a saved run again from its evidence alone: each case's capture, key log and TLS handshake record.

For every case with a ``verification`` record in results.json, :func:`reverify_case` reads the capture again, runs
the passive rules on the DUT's messages, the TLS-01 findings from the edge's record, and every active check the case
called (same arguments, looked up by name in :data:`sipqual.recording.CHECKS`), then applies the one FAIL rule
(:func:`sipqual.verdict.capture_failures`). A capture verdict can only be PASS or FAIL: ERROR, NA and NOT_RUN were
decided by the lab or the profile, not by the capture, so they are reported as "not re-verifiable" rather than
compared. A live FAIL that came from a passive rule (the case could not finish) has no recorded checks; it is
reproduced from the passive rules alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from . import checks  # noqa: F401 - importing registers the active checks
from .errors import LabError, UsageError
from .recording import CHECKS, decode
from .rules import run_passive
from .tlsfindings import capture_tls_findings, probe_clients, read_events, tls_findings
from .trace import read_trace
from .verdict import Finding, Verdict, capture_failures

COMPARABLE = (Verdict.PASS.value, Verdict.FAIL.value)


@dataclass
class Reverified:
    id: str
    transport: str | None
    recorded: str
    recomputed: str | None          # PASS | FAIL | ERROR (the saved evidence could not be judged) | None
    findings: list[Finding] = field(default_factory=list)
    note: str = ""

    @property
    def agrees(self) -> bool:
        """True when the capture gives the recorded verdict, or when the recorded verdict is not one a capture
        decides (ERROR, NA, NOT_RUN)."""
        if self.recorded not in COMPARABLE:
            return True
        return self.recomputed == self.recorded

    def line(self) -> str:
        what = f"{self.id} [{self.transport or '-'}]"
        if self.recomputed is None:
            return f"{what}: {self.recorded} (not re-verifiable: {self.note})"
        mark = "same" if self.agrees else "DIFFERS"
        return f"{what}: recorded {self.recorded}, from the capture {self.recomputed} ({mark}){': ' + self.note if self.note else ''}"


def reverify_case(run_dir: Path, case: dict) -> Reverified:
    rec = Reverified(case["id"], case.get("transport"), case["verdict"], None)
    v = case.get("verification")
    if not v:
        rec.note = "no capture was taken" if case["verdict"] != Verdict.NA.value else "not applicable"
        return rec
    capture = run_dir / v["capture"]
    keylog = run_dir / v["keylog"] if v.get("keylog") else None
    try:
        trace = read_trace(capture, keylog, v.get("tls_ports", []), v.get("tcp_ports", []))
    except LabError as e:
        rec.recomputed, rec.note = Verdict.ERROR.value, str(e)
        return rec
    passive = run_passive(trace, set(v.get("dut_addresses", [])))
    passive += tls_findings(read_events([run_dir / p for p in v.get("tls_events", [])]))
    if keylog is not None:
        passive += capture_tls_findings(capture, keylog, v.get("tls_ports", []), set(v.get("dut_addresses", [])),
                                        v.get("dut_fqdn"), probe_clients(run_dir / v["tls_probe"]
                                                                         if v.get("tls_probe") else None))
    active: list[Finding] = []
    for call in v.get("checks", []):
        fn = CHECKS.get(call["check"])
        if fn is None:
            rec.recomputed, rec.note = Verdict.ERROR.value, f"unknown check {call['check']!r} (newer sipqual?)"
            return rec
        try:
            active += fn(trace, **decode(call["args"]))
        except checks.StimulusMissing as e:
            # as live (plugin.py): a case that could not complete FAILs when the capture shows a mandatory violation
            bad = capture_failures([], passive)
            rec.findings = passive
            rec.recomputed = Verdict.FAIL.value if bad else Verdict.ERROR.value
            rec.note = (bad[0].message + f" (the case could not complete: {e})") if bad else str(e)
            return rec
    rec.findings = passive + active
    bad = capture_failures(active, passive)
    if bad:
        rec.recomputed, rec.note = Verdict.FAIL.value, bad[0].message
    elif v.get("checks"):
        rec.recomputed = Verdict.PASS.value
    else:
        rec.note = "the case recorded no checks and the capture shows no mandatory violation"
    return rec


def load_results(run_dir: Path) -> dict:
    path = Path(run_dir) / "results.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist (is {run_dir} a sipqual run directory?)") from None
    except ValueError as e:
        raise UsageError(f"{path} is not valid JSON: {e}") from None


def reverify_run(run_dir: Path) -> list[Reverified]:
    """Every case of a saved run, judged again from its evidence."""
    run_dir = Path(run_dir)
    return [reverify_case(run_dir, c) for c in load_results(run_dir)["cases"]]
