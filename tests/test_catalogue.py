"""The catalogue as data (sipqual/catalogue.py) against its source, requirements.md section 6, and the suites'
declarations against the catalogue."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sipqual import catalogue
from sipqual.case import case, implemented_case_ids

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT.parent / "shared" / "reference" / "requirements.md"


def expand_requirements(cell: str) -> list[str]:
    """``SRTP-01,02,04`` -> SRTP-01, SRTP-02, SRTP-04; ``RFC3550-03/04`` -> RFC3550-03, RFC3550-04; families
    (``RFC3261-*``) and bare RFC numbers (``RFC4475``) stay as written."""
    out: list[str] = []
    for tok in (t.strip() for t in cell.replace("\u2011", "-").split(",")):
        if re.fullmatch(r"\d{2}", tok):
            out.append(f"{out[-1].rsplit('-', 1)[0]}-{tok}")
        elif "/" in tok:
            base, first = tok.split("/")[0].rsplit("-", 1)
            out += [f"{base}-{first}"] + [f"{base}-{n}" for n in tok.split("/")[1:]]
        else:
            out.append(tok)
    return out


def section6() -> list[tuple[str, str, str, list[str]]]:
    """(group, id, severity cell, requirement IDs) of every row of requirements.md section 6, in order."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    body = text.split("\n## 6.", 1)[1].split("\n## 7.", 1)[0]
    rows, group = [], None
    for line in body.splitlines():
        m = re.match(r"### (?:Suite (\S+)|Optional SIPconnect)", line)
        if m:
            group = m.group(1) or "SC"
        elif line.startswith("| TC-"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            assert len(cells) == 4, line
            rows.append((group, cells[0], cells[3], expand_requirements(cells[2])))
    return rows


@pytest.mark.skipif(not REQUIREMENTS.is_file(), reason="../shared/reference/requirements.md is not beside the checkout")
def test_catalogue_matches_requirements_md_section_6():
    rows = section6()
    assert [r[1] for r in rows] == [c.id for c in catalogue.CASES], "IDs or their order differ"
    heading = re.search(r"## 6\. Proposed test case list \((\d+) Lync.*?\+ (\d+) SIPconnect",
                        REQUIREMENTS.read_text(encoding="utf-8"))
    assert (len(catalogue.LYNC_CASES), len(catalogue.CASES) - len(catalogue.LYNC_CASES)) == \
        (int(heading.group(1)), int(heading.group(2)))
    for group, cid, sev, reqs in rows:
        c = catalogue.get(cid)
        assert c.group == group, cid
        assert (c.severity_text or c.severity) == sev, f"{cid}: catalogue says {sev!r}, sipqual {c.severity!r}"
        assert list(c.requirements) == reqs, f"{cid}: catalogue says {reqs}, sipqual {list(c.requirements)}"


def test_catalogue_shape():
    cases = catalogue.CASES
    assert len(cases) == 132 and len({c.id for c in cases}) == 132
    assert len(catalogue.LYNC_CASES) == 126
    assert all(c.severity in catalogue.SEVERITIES for c in cases)
    assert all(0 < len(c.title) < 70 for c in cases)
    assert {c.id for c in cases if c.profile == "sipconnect"} == {f"TC-SC-0{n}" for n in range(1, 7)}
    assert "SC" not in catalogue.suites() and "SC" in catalogue.suites(None)
    assert list(catalogue.suites())[:3] == ["TRN", "OPT", "BAS"] and "ID" in catalogue.suites()
    assert sum(map(len, catalogue.groups().values())) == 126 and "ID/NUM" in catalogue.groups()
    # every conditional severity says when it applies
    assert all(c.condition for c in cases if c.severity in ("M*", "M†")) and catalogue.get("TC-ROB-02").condition
    assert catalogue.get("TC-SRTP-01").declared_severity == "M" and catalogue.get("TC-SC-01").declared_severity == "I"
    assert catalogue.get("TC-NOPE-01") is None and catalogue.DIGEST.startswith("sha256:")


def test_conditions_follow_the_pics():
    srtp, byp, plain = catalogue.get("TC-SRTP-01"), catalogue.get("TC-BYP-01"), catalogue.get("TC-BAS-01")
    assert catalogue.condition_applies(srtp, {"srtp": True, "tls": True}) is True
    assert catalogue.condition_applies(srtp, {"srtp": True, "tls": False}) is False
    assert catalogue.condition_applies(byp, {"media_bypass": False}) is False
    assert catalogue.condition_applies(byp, None) is None and catalogue.condition_applies(plain, None) is True


def test_a_declared_case_must_be_in_the_catalogue_with_its_severity():
    with pytest.raises(ValueError, match="TC-XYZ-01 is not in the requirement catalogue"):
        case("TC-XYZ-01", "t", requirements=["OPT-01"])
    with pytest.raises(ValueError, match="TC-OPT-02: severity 'M' differs from the catalogue's R"):
        case("TC-OPT-02", "t", requirements=["OPT-02"], severity="M")
    with pytest.raises(ValueError, match="declare 'M'"):
        case("TC-SRTP-01", "t", requirements=["SRTP-01"], severity="M*")
    assert case("TC-OPT-02", "t", requirements=["OPT-02"]) is not None   # the catalogue's severity by default


def test_the_suites_declare_catalogue_cases_correctly():
    """Importing every suite runs the checks of sipqual.case; the static scan finds the same IDs."""
    code = textwrap.dedent("""
        import importlib.util, pathlib, sys
        from sipqual.case import _REGISTRY
        for p in sorted(pathlib.Path("suites").glob("test_*.py")):
            spec = importlib.util.spec_from_file_location(p.stem, p)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        print(" ".join(sorted(_REGISTRY)))
    """)
    cp = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    declared = set(cp.stdout.split())
    assert declared >= {"TC-OPT-01", "TC-TRN-01", "TC-TRN-02"}
    assert implemented_case_ids() == declared      # the static scan sees what the imports declare


def test_a_qualification_run_records_its_coverage(tmp_path):
    """The plugin writes ``coverage`` (schema 1.2) and the durations profile (1.3) even when nothing runs: here every
    collected case is deselected, so no lab is needed, and the suite file that was not collected still counts as
    implemented."""
    cp = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "suites" / "test_opt.py"), "-p", "no:cacheprovider",
                         "-q", "--dut", str(ROOT / "lab/duts/reference-sbc.yaml"), "--sipqual-reports", str(tmp_path),
                         "-k", "TC-OPT-01 and nothing", "--durations-profile", "full"], cwd=ROOT, capture_output=True,
                        text=True, timeout=120)
    doc = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert doc["schema_version"] == "1.3", cp.stdout[-2000:] + cp.stderr[-2000:]
    assert doc["durations"]["profile"] == "full"
    cov = doc["coverage"]
    assert cov["catalogue"]["digest"] == catalogue.DIGEST and cov["catalogue"]["lync_cases"] == 126
    assert cov["sipqual_version"] == doc["suite_version"]
    entries = {e["id"]: e for e in cov["cases"]}
    assert list(entries) == [c.id for c in catalogue.CASES + catalogue.EXTENSION_CASES]   # SEC: listed, apart
    opt = entries["TC-OPT-01"]
    assert (opt["status"], opt["verdict"], opt["executed"], opt["implemented"]) == ("not run", "NOT_RUN", False, True)
    assert opt["transports"] == {"tcp": "NOT_RUN", "tls": "NOT_RUN"} and opt["requirements"] == ["OPT-01", "OPT-02"]
    assert (entries["TC-TRN-01"]["status"], entries["TC-TRN-01"]["verdict"]) == ("not in run", None)
    assert (entries["TC-FO-09"]["status"], entries["TC-FO-09"]["implemented"]) == ("not implemented", False)
    assert entries["TC-SRTP-01"]["condition"] and entries["TC-SC-01"]["profile"] == "sipconnect"


def test_sec_extension_is_kept_apart_from_the_catalogue():
    """Issue 15: the SEC suite is sipqual's own (profile "sipqual"): known to get() so cases can carry its IDs, never
    in CASES (section 6 as written) nor in the Lync figures."""
    ids = [c.id for c in catalogue.EXTENSION_CASES]
    assert ids == [f"TC-SEC-0{n}" for n in range(1, 5)]
    assert not set(ids) & {c.id for c in catalogue.CASES}
    assert all(catalogue.get(i).profile == "sipqual" for i in ids)
    assert catalogue.get("TC-SEC-01").declared_severity == "M" and catalogue.get("TC-SEC-04").severity == "R"
    assert catalogue.get("TC-SEC-03").condition and "SEC" not in catalogue.suites()
