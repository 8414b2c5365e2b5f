"""The cover verdict of a qualification run, derived from the verdicts of its cases and from its coverage of the
requirement catalogue.

Rules (README "The report" states the same, as a table):

Terms.
- *Catalogue*: requirements.md section 6 (:mod:`sipqual.catalogue`): 126 Lync/SfB cases and 6 SIPconnect add-ons. A
  run is judged against the snapshot recorded in its results.json ``coverage``; a results.json without one (schema
  1.0/1.1) is judged against the catalogue installed with the sipqual that renders the report, and the report says
  so.
- *Severity* of a case: the catalogue's when its ID is in the catalogue, else as declared. ``M*`` (mandatory when
  the DUT is qualified with SRTP & TLS: PICS ``srtp`` and ``tls`` claimed) and ``M†`` (mandatory when PICS
  ``media_bypass`` is claimed) count as M when the DUT profile's PICS in the results meet the condition, as O when
  they do not, and as M when the results hold no PICS (the report says so). ``SC`` (SIPconnect add-ons) counts as I.
- *Mandatory catalogue cases*: the Lync-profile catalogue cases whose severity counts as M.
- *Status* of a catalogue case in a run, from the run's cases with its ID (one per transport): ``failed`` if any is
  FAIL; else ``error`` if any is ERROR; else ``not run`` if any is NOT_RUN with its transport in scope (deselected,
  never reached); else ``passed`` if any is PASS; else ``n/a`` if any is NA (feature not claimed in the PICS); else
  ``out of scope`` (every one NOT_RUN because its transport is outside the profile's ``pixit.transports``). With no
  case in the run: ``not implemented`` (sipqual has no case with that ID) or ``not in run`` (implemented, not
  collected). A catalogue case was *executed* when one of its cases is PASS, FAIL or ERROR (so a case passed on TCP
  and deselected on TLS was executed, but its status is ``not run``).

1. **Not qualified** when any of these holds:
   - a case whose severity counts as M is FAIL: the capture shows the DUT violating a mandatory requirement;
   - a case whose severity counts as M is ERROR: we could not find out, so the requirement is unverified;
   - no case was executed at all (nothing PASS or FAIL).
2. **Incomplete** when rule 1 does not apply and a mandatory catalogue case is neither passed, nor n/a, nor out of
   scope: sipqual has no implementation of it, or the run did not collect it, deselected it or never reached it
   (the same holds for a mandatory case outside the catalogue that is NOT_RUN with its transport in scope). The
   first reason then reads "N of M mandatory catalogue cases not executed (see Coverage)", followed by each
   mandatory case of the run that is NOT_RUN within scope. No listing mark; not for publication. Rule 1 wins: its
   reasons come first, and these follow them.
3. **Qualified with limitations** when rules 1 and 2 do not apply and a recommended (R) or optional (O) case is FAIL
   or ERROR: each one becomes a known limitation (a failed R requirement is a "pass with known limitation" in the
   catalogue's severity scheme).
4. **Qualified** otherwise: every mandatory catalogue case passed, is N/A by the PICS or out of transport scope.

Never affecting the cover: NA cases (the DUT does not claim the feature; listed as a known limitation "not
supported", as the published OIP listings did), informational (I) cases, cases whose transport the profile does
not select, and catalogue cases that are not mandatory for this DUT (whether implemented or not: the Coverage
section lists them). The listing mark is "✔" (Qualified) or "✔+S" (Qualified with SRTP & TLS: TLS cases passed with
none failing, and SRTP cases passed with none failing); "not qualified" and "incomplete" rows are not for
publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("PASS", "FAIL", "NA", "ERROR", "NOT_RUN")
VERDICT_LABEL = {"PASS": "Pass", "FAIL": "Fail", "NA": "N/A", "ERROR": "Error", "NOT_RUN": "Not run"}
SEVERITY_LABEL = {"M": "mandatory", "R": "recommended", "O": "optional", "I": "informational",
                  "M*": "mandatory with SRTP & TLS", "M†": "mandatory with media bypass", "SC": "SIPconnect only"}

QUALIFIED = "Qualified"
WITH_LIMITATIONS = "Qualified with limitations"
INCOMPLETE = "Incomplete"
NOT_QUALIFIED = "Not qualified"

# statuses of a catalogue case in a run (results.json coverage.cases[].status)
PASSED, FAILED, ERRORED, NOT_APPLICABLE, NOT_RUN = "passed", "failed", "error", "n/a", "not run"
OUT_OF_SCOPE, NOT_IN_RUN, NOT_IMPLEMENTED = "out of scope", "not in run", "not implemented"
STATUSES = (PASSED, FAILED, ERRORED, NOT_APPLICABLE, NOT_RUN, OUT_OF_SCOPE, NOT_IN_RUN, NOT_IMPLEMENTED)
MET = (PASSED, NOT_APPLICABLE, OUT_OF_SCOPE)                 # a mandatory catalogue case with these is satisfied
MISSING = (NOT_RUN, NOT_IN_RUN, NOT_IMPLEMENTED)             # ... with these makes the run Incomplete
_STATUS_VERDICT = {PASSED: "PASS", FAILED: "FAIL", ERRORED: "ERROR", NOT_APPLICABLE: "NA", NOT_RUN: "NOT_RUN",
                   OUT_OF_SCOPE: "NOT_RUN"}


@dataclass
class CoverageRow:
    """Counts for one catalogue suite group (or the total)."""

    group: str
    title: str
    cases: int = 0
    implemented: int = 0
    executed: int = 0
    passed: int = 0
    mandatory: int = 0
    mandatory_met: int = 0
    mandatory_missing: int = 0


@dataclass
class CoverageSummary:
    """The run's coverage of the Lync catalogue, with the severities counted for this DUT."""

    entries: list[dict]                     # every catalogue case (both profiles) with "status" and "counts_as"
    version: str                            # the sipqual whose implementation "implemented" refers to
    recorded: bool                          # the snapshot came from results.json (else the installed catalogue)
    pics_known: bool
    rows: list[CoverageRow] = field(default_factory=list)    # per Lync group
    total: CoverageRow = field(default_factory=lambda: CoverageRow("Total", ""))
    notes: list[str] = field(default_factory=list)            # how M*/M† were counted, where the snapshot came from

    @property
    def lync(self) -> list[dict]:
        return [e for e in self.entries if e.get("profile", "lync") == "lync"]

    @property
    def mandatory(self) -> list[dict]:
        return [e for e in self.lync if e["counts_as"] == "M"]

    @property
    def missing(self) -> list[dict]:
        return [e for e in self.mandatory if e["status"] in MISSING]

    def scope_line(self) -> str:
        """One line for the cover: how much of the catalogue this run executed, and what of the mandatory part."""
        t, m = self.total, self.mandatory
        by = {s: sum(e["status"] == s for e in m) for s in STATUSES}
        parts = [f"{by[PASSED]} of {len(m)} mandatory passed"]
        parts += [f"{by[NOT_APPLICABLE]} N/A"] if by[NOT_APPLICABLE] else []
        parts += [f"{by[OUT_OF_SCOPE]} out of transport scope"] if by[OUT_OF_SCOPE] else []
        parts += [f"{by[FAILED]} failed"] if by[FAILED] else []
        parts += [f"{by[ERRORED]} could not be verified"] if by[ERRORED] else []
        if self.missing:
            why = [f"{by[NOT_IMPLEMENTED]} not implemented in sipqual {self.version}"] if by[NOT_IMPLEMENTED] else []
            why += [f"{by[NOT_RUN]} deselected or not reached"] if by[NOT_RUN] else []
            why += [f"{by[NOT_IN_RUN]} not collected"] if by[NOT_IN_RUN] else []
            parts.append(f"{len(self.missing)} not executed ({', '.join(why)})")
        return f"Scope: {t.executed} of {t.cases} catalogue cases executed; " + ", ".join(parts)


@dataclass
class Cover:
    """The cover verdict, why, and the listing mark."""

    outcome: str
    reasons: list[str] = field(default_factory=list)   # why not Qualified (empty when Qualified)
    mark: str = ""                                      # "✔", "✔+S" or "" (not qualified, incomplete)
    mark_text: str = ""                                 # the legend wording of the mark
    tls_tested: bool = False
    srtp_tested: bool = False
    coverage: CoverageSummary | None = None


def suite_of(case: dict) -> str:
    """``TC-OPT-01`` belongs to suite ``OPT``."""
    parts = str(case.get("id", "")).split("-")
    return parts[1] if len(parts) >= 3 else "?"


def counts(cases: list[dict]) -> dict[str, int]:
    out = {v: 0 for v in VERDICTS}
    for c in cases:
        v = c.get("verdict")
        out[v if v in out else "ERROR"] += 1
    return out


def counts_per_suite(cases: list[dict]) -> dict[str, dict[str, int]]:
    suites: dict[str, list[dict]] = {}
    for c in cases:
        suites.setdefault(suite_of(c), []).append(c)
    return {s: counts(cs) for s, cs in sorted(suites.items())}


def out_of_scope(case: dict, transports: list[str] | None) -> bool:
    """NOT_RUN because the DUT profile does not select the case's transport (not a missing execution)."""
    if case.get("verdict") != "NOT_RUN":
        return False
    t = case.get("transport")
    if transports is not None:
        return t is not None and t not in transports
    return "not selected in pixit.transports" in str(case.get("reason", ""))


def label(case: dict) -> str:
    t = case.get("transport")
    return f"{case.get('id', '?')} [{t.upper()}]" if t else str(case.get("id", "?"))


def _is_srtp(case: dict) -> bool:
    return any(str(r).startswith("SRTP-") for r in case.get("requirements") or [])


# ---- catalogue coverage ----------------------------------------------------------------------------------------------
def catalogue_status(instances: list[dict], implemented: bool, transports: list[str] | None) -> str:
    """The status of one catalogue case from the run's cases with its ID (see the module's Terms)."""
    if not instances:
        return NOT_IN_RUN if implemented else NOT_IMPLEMENTED
    vs = [c.get("verdict") for c in instances]
    if "FAIL" in vs:
        return FAILED
    if any(v == "ERROR" or v not in VERDICTS for v in vs):
        return ERRORED
    if any(c.get("verdict") == "NOT_RUN" and not out_of_scope(c, transports) for c in instances):
        return NOT_RUN
    if "PASS" in vs:
        return PASSED
    return NOT_APPLICABLE if "NA" in vs else OUT_OF_SCOPE


def coverage_snapshot(cases: list[dict], implemented: set[str], transports: list[str] | None,
                      version: str, entries: list[dict] | None = None) -> dict:
    """The results.json ``coverage`` object: every catalogue case (``entries``, default the installed catalogue)
    with whether ``version`` implements it and what this run's ``cases`` (results.json case dicts) made of it."""
    from .. import catalogue

    if entries is None:
        entries = [c.as_dict() for c in catalogue.CASES + catalogue.EXTENSION_CASES]
    by_id: dict[str, list[dict]] = {}
    for c in cases:
        by_id.setdefault(str(c.get("id")), []).append(c)
    out = []
    for e in entries:
        inst = by_id.get(e["id"], [])
        status = catalogue_status(inst, e["id"] in implemented or bool(inst), transports)
        out.append({**e, "implemented": e["id"] in implemented or bool(inst),
                    "executed": any(c.get("verdict") in ("PASS", "FAIL", "ERROR") for c in inst),
                    "verdict": _STATUS_VERDICT.get(status) if inst else None,
                    "transports": {str(c.get("transport") or "any"): c.get("verdict") for c in inst},
                    "status": status})
    return {"catalogue": {"source": catalogue.SOURCE, "digest": catalogue.DIGEST, "cases": len(entries),
                          "lync_cases": sum(e.get("profile", "lync") == "lync" for e in entries)},
            "sipqual_version": version, "cases": out}


def counts_as(severity: str, pics: dict | None) -> str:
    """The severity a catalogue severity counts as for a DUT with these PICS (None: unknown); see the Terms."""
    from ..catalogue import condition_applies

    if severity in ("M*", "M†"):
        return "O" if condition_applies({"severity": severity}, pics) is False else "M"
    return "I" if severity == "SC" else severity


def summarize_coverage(coverage: dict, pics: dict | None, recorded: bool = True) -> CoverageSummary:
    """Counts per catalogue group for ``coverage`` (a :func:`coverage_snapshot` object)."""
    from ..catalogue import CONDITIONS, GROUP_TITLES

    entries = [dict(e, counts_as=counts_as(e.get("severity", "M"), pics))
               for e in coverage.get("cases") or [] if isinstance(e, dict) and e.get("id")]
    s = CoverageSummary(entries, str(coverage.get("sipqual_version") or "?"), recorded, pics is not None)
    rows: dict[str, CoverageRow] = {}
    for e in s.lync:
        g = str(e.get("group") or suite_of(e))
        for row in (rows.setdefault(g, CoverageRow(g, GROUP_TITLES.get(g, ""))), s.total):
            row.cases += 1
            row.implemented += bool(e.get("implemented"))
            row.executed += bool(e.get("executed"))
            row.passed += e["status"] == PASSED
            if e["counts_as"] == "M":
                row.mandatory += 1
                row.mandatory_met += e["status"] in MET
                row.mandatory_missing += e["status"] in MISSING
    s.rows = list(rows.values())
    for sev, cond in CONDITIONS.items():
        n = sum(e.get("severity") == sev for e in s.lync)
        if not n:
            continue
        if pics is None:
            s.notes.append(f"{n} {sev} cases ({cond}) counted as mandatory: the results hold no PICS to decide by.")
        elif counts_as(sev, pics) == "M":
            s.notes.append(f"{n} {sev} cases counted as mandatory: the PICS meet the condition ({cond}).")
        else:
            s.notes.append(f"{n} {sev} cases not mandatory for this DUT: the PICS do not meet the condition ({cond}).")
    if not recorded:
        s.notes.append(f"These results hold no coverage record (written before results schema 1.2, or by sipqual "
                       f"verify): judged against the catalogue installed with sipqual {s.version}, and "
                       f"\"implemented\" means implemented in that installation.")
    return s


# ---- the cover -------------------------------------------------------------------------------------------------------
def cover_verdict(cases: list[dict], transports: list[str] | None = None, coverage: dict | None = None,
                  pics: dict | None = None, recorded: bool = True, durations: str | None = "full") -> Cover:
    """Apply the module's rules to ``cases`` (results.json case dicts); ``transports`` from the profile's PIXIT,
    ``coverage`` the results.json coverage object (None: the installed catalogue), ``pics`` the profile's PICS
    (None: unknown), ``durations`` the run's duration profile (:mod:`sipqual.durations`; None: not recorded). Only
    a run with the full durations earns a listing mark; the outcome itself does not depend on it."""
    if coverage is None:
        from .. import __version__
        from ..case import implemented_case_ids

        coverage, recorded = coverage_snapshot(cases, implemented_case_ids(), transports, __version__), False
    summary = summarize_coverage(coverage, pics, recorded)
    severity = {e["id"]: e["counts_as"] for e in summary.entries}
    failed, unverified, not_run, reasons_lim = [], [], [], []
    for c in cases:
        v, sev = c.get("verdict"), severity.get(str(c.get("id")), c.get("severity", "M"))
        if sev == "M":
            if v == "FAIL":
                failed.append(f"{label(c)} failed (mandatory)")
            elif v == "ERROR" or v not in VERDICTS:
                unverified.append(f"{label(c)} could not be verified (ERROR on a mandatory case)")
            elif v == "NOT_RUN" and not out_of_scope(c, transports):
                not_run.append(f"{label(c)} not executed (mandatory; {c.get('reason') or 'not run'})")
        elif sev in ("R", "O"):
            if v == "FAIL":
                reasons_lim.append(f"{label(c)} failed ({SEVERITY_LABEL[sev]})")
            elif v == "ERROR":
                reasons_lim.append(f"{label(c)} could not be verified ({SEVERITY_LABEL[sev]})")
    reasons_nq = failed + unverified                 # the most telling first: the cover lists only the first few
    if not any(c.get("verdict") in ("PASS", "FAIL") for c in cases):
        reasons_nq.append("no case was executed")
    missing = summary.missing
    reasons_inc = ([f"{len(missing)} of {len(summary.mandatory)} mandatory catalogue cases not executed "
                    "(see Coverage)"] if missing else []) + not_run
    tls = [c for c in cases if c.get("transport") == "tls"]
    srtp = [c for c in cases if _is_srtp(c)]
    tls_ok = any(c["verdict"] == "PASS" for c in tls) and not any(c["verdict"] in ("FAIL", "ERROR") for c in tls)
    srtp_ok = any(c["verdict"] == "PASS" for c in srtp) and not any(c["verdict"] in ("FAIL", "ERROR") for c in srtp)
    if reasons_nq:
        return Cover(NOT_QUALIFIED, reasons_nq + reasons_inc + reasons_lim, "", "not qualified (not for publication)",
                     tls_ok, srtp_ok, summary)
    if reasons_inc:
        return Cover(INCOMPLETE, reasons_inc + reasons_lim, "", "incomplete (not for publication)", tls_ok, srtp_ok,
                     summary)
    mark, text = ("✔+S", "Qualified with SRTP & TLS") if tls_ok and srtp_ok else ("✔", "Qualified")
    if durations != "full":
        mark, text = "", (f"none: the {durations} durations profile ran (only a run with --durations full earns a "
                          "listing mark)" if durations else "none: the run recorded no durations profile (only a "
                          "run with --durations full earns a listing mark)")
    outcome = WITH_LIMITATIONS if reasons_lim else QUALIFIED
    return Cover(outcome, reasons_lim, mark, text, tls_ok, srtp_ok, summary)
