"""A saved run as the report reads it: ``results.json`` plus the files it points at, with every key that a
results.json from an older sipqual (schema 1.0, 1.1) or a hand-crafted one may lack filled in or left empty. A run
without a ``coverage`` record (before schema 1.2) is judged against the installed catalogue, and says so
(:attr:`RunData.coverage_recorded`).

The report reads nothing but this (and the evidence files it names); paths from results.json are only followed when
they stay inside the run directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import UsageError
from ..profile import mask_secrets as mask  # results written by anyone: mask again before showing


DEFAULT_PORTS = {"tcp": [5066, 5068], "tls": [5067]}   # Lync defaults (DUT 5066/5067, Mediation 5068/5067)


@dataclass
class Verification:
    """How to read one case's capture again (from results.json ``verification``, or guessed for older runs)."""

    capture: Path
    keylog: Path | None
    tls_ports: list[int]
    tcp_ports: list[int]
    dut_addresses: list[str]


@dataclass
class RunData:
    dir: Path
    doc: dict

    @property
    def cases(self) -> list[dict]:
        return [c for c in self.doc.get("cases") or [] if isinstance(c, dict)]

    @property
    def dut(self) -> dict:
        return self.doc.get("dut") or {}

    @property
    def lab(self) -> dict:
        return self.doc.get("lab") or {}

    @property
    def topology(self) -> dict:
        return self.lab.get("topology") or {}

    @property
    def profile(self) -> dict | None:
        """The DUT profile with secrets masked: as recorded (schema 1.1), else loaded from the recorded path. Masked
        again here, so a hand-made or older results.json cannot put a password into a report."""
        if isinstance(self.doc.get("profile"), dict):
            return mask(self.doc["profile"])
        path = self.dut.get("profile")
        if not path:
            return None
        from ..profile import load_profile

        try:
            return mask(load_profile(path).masked())
        except UsageError:
            return None

    @property
    def pics(self) -> dict | None:
        """The DUT's PICS as recorded with the run (None when the results hold no profile to read them from)."""
        pics = (self.profile or {}).get("pics")
        return pics if isinstance(pics, dict) else None

    @property
    def durations_profile(self) -> str | None:
        """``quick`` or ``full`` (:mod:`sipqual.durations`), as recorded (schema 1.3); None when not recorded."""
        d = self.doc.get("durations")
        p = d.get("profile") if isinstance(d, dict) else None
        return p if isinstance(p, str) else None

    @property
    def coverage_recorded(self) -> bool:
        """The run recorded the catalogue it was judged against (results.json ``coverage``, schema 1.2)."""
        cov = self.doc.get("coverage")
        return isinstance(cov, dict) and isinstance(cov.get("cases"), list) and bool(cov["cases"])

    @cached_property
    def coverage(self) -> dict:
        """The coverage object, its statuses computed again from this run's cases: over the recorded catalogue
        snapshot and implementation flags when there are some, else over the installed catalogue and suites."""
        from .. import __version__
        from ..case import implemented_case_ids
        from .verdicts import coverage_snapshot

        keys = ("id", "severity", "requirements", "title", "group", "condition", "severity_text", "suite", "profile")
        if self.coverage_recorded:
            cov = self.doc["coverage"]
            entries = [{k: e.get(k) for k in keys if k in e} for e in cov["cases"]
                       if isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("severity"), str)]
            implemented = {e["id"] for e in cov["cases"] if isinstance(e, dict) and e.get("implemented") is True}
            version = str(cov.get("sipqual_version") or self.doc.get("suite_version") or "?")
            snap = coverage_snapshot(self.cases, implemented, self.transports, version, entries)
            if isinstance(cov.get("catalogue"), dict):
                snap["catalogue"] = cov["catalogue"]
            return snap
        return coverage_snapshot(self.cases, implemented_case_ids(), self.transports, __version__)

    @property
    def transports(self) -> list[str] | None:
        """Transports the profile selects (None when unknown)."""
        t = self.topology.get("transports") or ((self.profile or {}).get("pixit") or {}).get("transports")
        return list(t) if t else None

    def inside(self, rel) -> Path | None:
        """``run_dir/rel`` if it names an existing file inside the run directory, else None."""
        if not rel:
            return None
        path = (self.dir / str(rel)).resolve()
        root = self.dir.resolve()
        return path if (path == root or root in path.parents) and path.is_file() else None

    def evidence(self, case: dict) -> list[str]:
        return [str(e) for e in case.get("evidence") or [] if self.inside(e)]

    def verification(self, case: dict) -> Verification | None:
        """The capture and how to decode it, or None when the case has no capture."""
        v = case.get("verification") or {}
        capture = self.inside(v.get("capture")) or next(
            (self.inside(e) for e in case.get("evidence") or [] if str(e).endswith("capture.pcapng")), None)
        if capture is None:
            return None
        if v:
            keylog = self.inside(v.get("keylog"))
            return Verification(capture, keylog, list(v.get("tls_ports") or []), list(v.get("tcp_ports") or []),
                                list(v.get("dut_addresses") or []))
        keylog = next((self.inside(e) for e in case.get("evidence") or [] if str(e).endswith("tls-keys.log")), None)
        ports = self._ports()
        tls = case.get("transport") == "tls"
        return Verification(capture, keylog if tls else None, ports["tls"] if tls else [], ports["tcp"],
                            self.dut_addresses())

    def _ports(self) -> dict[str, list[int]]:
        pixit = (self.profile or {}).get("pixit") or {}
        try:
            return {t: sorted({pixit["dut"]["ports"][t], pixit["mediation"]["ports"][t]}) for t in ("tcp", "tls")}
        except (KeyError, TypeError):
            return DEFAULT_PORTS

    def dut_addresses(self) -> list[str]:
        d = self.topology.get("dut") or {}
        return [a for a in (d.get("address_ms_side"), d.get("address_far_side")) if a]

    def address_names(self) -> dict[str, str]:
        """Address -> who it is, for ladder column headers."""
        t = self.topology
        ms, dut, far = t.get("mediation") or {}, t.get("dut") or {}, t.get("far") or {}
        names = {}
        if ms.get("address"):
            names[ms["address"]] = f"Mediation {ms.get('server_fqdn') or ms.get('pool_fqdn') or ''}".strip()
        if dut.get("address_ms_side"):
            names[dut["address_ms_side"]] = f"DUT {dut.get('fqdn') or ''} (Mediation side)".replace("  ", " ")
        if dut.get("address_far_side"):
            names[dut["address_far_side"]] = "DUT (far side)"
        if far.get("address"):
            names[far["address"]] = "Far end (PSTN / PBX)"
        return names

    def mediation_addresses(self) -> list[str]:
        a = (self.topology.get("mediation") or {}).get("address")
        return [a] if a else []


def load_run(run_dir) -> RunData:
    """Read ``run_dir/results.json``; a missing or unreadable file is a :class:`UsageError` (one line)."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{run_dir}: no results.json (not a sipqual run directory)") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: cannot read results: {e}") from None
    if not isinstance(doc, dict) or not str(doc.get("schema_version", "")).startswith("1."):
        raise UsageError(f"{path}: not a sipqual results file of schema 1.x")
    return RunData(run_dir, doc)
