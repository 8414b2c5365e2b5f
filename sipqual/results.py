"""The results contract: ``reports/<run>/results.json`` (schema versioned; other tools read it).

Only this module writes it, and the report reads nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .verdict import Verdict

SCHEMA_VERSION = "1.3"  # 1.1 added (all optional to readers): profile, lab.topology, case procedure/expected/
#     verification; 1.2 added coverage (the requirement catalogue the run was judged against; qualification runs);
#     1.3 added durations (the duration profile of a qualification run: {"profile": "quick"|"full", "description"})


@dataclass
class CaseResult:
    id: str
    title: str
    requirements: list[str]
    transport: str | None
    verdict: str
    reason: str
    evidence: list[str] = field(default_factory=list)
    severity: str = "M"
    findings: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    nodeid: str = ""
    procedure: str = ""
    expected: str = ""
    verification: dict | None = None   # how to judge the case again from its evidence (see sipqual.replay)


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def new_run_dir(root: Path) -> Path:
    """A fresh ``root/<timestamp>`` (unique even for two runs in one second: ``mkdir`` decides). ``root/latest`` is
    not touched here: :func:`point_latest` switches it when the run ends."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run = root / stamp
    n = 1
    while True:
        try:
            run.mkdir()
            break
        except FileExistsError:
            n += 1
            run = root / f"{stamp}-{n}"
    return run


def point_latest(run_dir: Path) -> Path:
    """Switch ``<root>/latest`` to ``run_dir`` atomically (a symlink under a temporary name, then ``os.replace``),
    so a reader never sees it missing or half-made. Two runs ending together: the last to finish wins. Nothing in
    sipqual reads ``latest`` to find its own run; it is for people and scripts."""
    root = run_dir.parent
    latest = root / "latest"
    tmp = root / f".latest-{os.getpid()}-{run_dir.name}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, latest)
    return latest


def write_results(run_dir: Path, profile, cases: list[CaseResult], started: str, lab: dict | None = None,
                  coverage: dict | None = None, durations_profile: str | None = None) -> Path:
    """Write ``run_dir/results.json``. ``coverage`` (a qualification run's catalogue coverage, built by
    :func:`sipqual.report.verdicts.coverage_snapshot`) is left out when None (``sipqual verify`` results)."""
    counts = {v.value: 0 for v in Verdict}
    for c in cases:
        counts[c.verdict] += 1
    ident = profile.identity if profile is not None else {}
    doc = {
        "schema_version": SCHEMA_VERSION,
        "suite_version": __version__,
        "started": started,
        "finished": now_iso(),
        "dut": {"vendor": ident.get("vendor"), "product": ident.get("product"), "version": ident.get("version"),
                "role": ident.get("role"), "profile": str(profile.path) if profile is not None else None,
                "kind": profile.kind if profile is not None else None},
        "summary": counts,
        "profile": profile.masked() if profile is not None else None,
        "lab": lab or {},
        "cases": [asdict(c) for c in cases],
    }
    if coverage is not None:
        doc["coverage"] = coverage
    if durations_profile is not None:
        from .durations import DESCRIPTION

        doc["durations"] = {"profile": durations_profile, "description": DESCRIPTION[durations_profile]}
    path = run_dir / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)
    return path
