"""The cover verdict of a qualification run, derived from the verdicts and severities of its cases.

Rules (the same text is in README "The report"):

1. **Not qualified** when any of these holds:
   - a mandatory (M) case is FAIL: the capture shows the DUT violating a mandatory requirement;
   - a mandatory case is ERROR: we could not find out, so the requirement is unverified (never "Qualified");
   - a mandatory case is NOT_RUN for any reason other than its transport being outside the DUT profile's
     ``pixit.transports`` (the exit criterion "every mandatory case executed" is not met: deselected or interrupted);
   - no case was executed at all (nothing PASS or FAIL).
2. **Qualified with limitations** when rule 1 does not apply and a recommended (R) or optional (O) case is FAIL or
   ERROR: each one becomes a known limitation (a failed R requirement is a "pass with known limitation" in the
   catalogue's severity scheme).
3. **Qualified** otherwise.

Never affecting the cover: NA cases (the DUT does not claim the feature; listed as a known limitation "not
supported", as the published OIP listings did), informational (I) cases, and cases whose transport the profile does
not select. The listing mark is "✔" (Qualified) or "✔+S" (Qualified with SRTP & TLS: TLS cases passed with none
failing, and SRTP cases passed with none failing); "not qualified" rows are not for publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("PASS", "FAIL", "NA", "ERROR", "NOT_RUN")
VERDICT_LABEL = {"PASS": "Pass", "FAIL": "Fail", "NA": "N/A", "ERROR": "Error", "NOT_RUN": "Not run"}
SEVERITY_LABEL = {"M": "mandatory", "R": "recommended", "O": "optional", "I": "informational"}

QUALIFIED = "Qualified"
WITH_LIMITATIONS = "Qualified with limitations"
NOT_QUALIFIED = "Not qualified"


@dataclass
class Cover:
    """The cover verdict, why, and the listing mark."""

    outcome: str
    reasons: list[str] = field(default_factory=list)   # why not Qualified (empty when Qualified)
    mark: str = ""                                      # "✔", "✔+S" or "" (not qualified)
    mark_text: str = ""                                 # the legend wording of the mark
    tls_tested: bool = False
    srtp_tested: bool = False


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


def cover_verdict(cases: list[dict], transports: list[str] | None = None) -> Cover:
    """Apply the module's rules to ``cases`` (results.json case dicts); ``transports`` from the profile's PIXIT."""
    failed, unverified, not_run, reasons_lim = [], [], [], []
    for c in cases:
        v, sev = c.get("verdict"), c.get("severity", "M")
        if sev == "M":
            if v == "FAIL":
                failed.append(f"{label(c)} failed (mandatory)")
            elif v == "ERROR" or v not in VERDICTS:
                unverified.append(f"{label(c)} could not be verified (ERROR on a mandatory case)")
            elif v == "NOT_RUN" and not out_of_scope(c, transports):
                not_run.append(f"{label(c)} not executed (mandatory; exit criteria not met)")
        elif sev in ("R", "O"):
            if v == "FAIL":
                reasons_lim.append(f"{label(c)} failed ({SEVERITY_LABEL[sev]})")
            elif v == "ERROR":
                reasons_lim.append(f"{label(c)} could not be verified ({SEVERITY_LABEL[sev]})")
    reasons_nq = failed + unverified + not_run      # the most telling first: the cover lists only the first few
    if not any(c.get("verdict") in ("PASS", "FAIL") for c in cases):
        reasons_nq.append("no case was executed")
    tls = [c for c in cases if c.get("transport") == "tls"]
    srtp = [c for c in cases if _is_srtp(c)]
    tls_ok = any(c["verdict"] == "PASS" for c in tls) and not any(c["verdict"] in ("FAIL", "ERROR") for c in tls)
    srtp_ok = any(c["verdict"] == "PASS" for c in srtp) and not any(c["verdict"] in ("FAIL", "ERROR") for c in srtp)
    if reasons_nq:
        return Cover(NOT_QUALIFIED, reasons_nq + reasons_lim, "", "not qualified (not for publication)",
                     tls_ok, srtp_ok)
    mark, text = ("✔+S", "Qualified with SRTP & TLS") if tls_ok and srtp_ok else ("✔", "Qualified")
    outcome = WITH_LIMITATIONS if reasons_lim else QUALIFIED
    return Cover(outcome, reasons_lim, mark, text, tls_ok, srtp_ok)
