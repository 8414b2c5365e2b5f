"""The qualification report: cover verdict rules (per case, and against the requirement catalogue's coverage),
rendering from crafted results (every verdict, every cover outcome, hostile text, secrets, results with and without
a coverage record), and from a real lab run, checked in headless Chromium (DOM, screenshot) and as PDF (pages and
text)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_runs import (CASES, HOSTILE, IMPLEMENTED, PASSWORD, PROFILE, REAL_SHAPE, case, catalogue_case,
                         coverage_of, every_mandatory, needs_root, qualify_one_case, write_run)

from sipqual.case import implemented_case_ids
from sipqual.cli import main
from sipqual.report import render_report
from sipqual.report.listing import known_limitations
from sipqual.report.pdf import run_headless
from sipqual import catalogue
from sipqual.report.verdicts import (INCOMPLETE, NOT_QUALIFIED, QUALIFIED, WITH_LIMITATIONS, coverage_snapshot,
                                     cover_verdict)

PICS = PROFILE["pics"]                      # TLS, no SRTP, no media bypass: M* and M† are not mandatory
NO_CATALOGUE = coverage_snapshot([], set(), None, "0.1.0", entries=[])   # judge the cases alone
MANDATORY = sum(c.severity == "M" for c in catalogue.LYNC_CASES)          # 59 for this DUT


# ---- cover verdict rules --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cases, outcome, why", [
    ([case("TC-A-01", "tcp", "PASS"), case("TC-A-01", "tls", "PASS")], QUALIFIED, []),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "FAIL", "R")], WITH_LIMITATIONS, ["TC-B-01 [TCP] failed"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "ERROR", "O")], WITH_LIMITATIONS,
     ["TC-B-01 [TCP] could not be verified"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tls", "FAIL")], NOT_QUALIFIED, ["TC-B-01 [TLS] failed"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "ERROR")], NOT_QUALIFIED,
     ["TC-B-01 [TCP] could not be verified (ERROR on a mandatory case)"]),
    # a deselected (or never reached) mandatory case: nothing against the DUT, but the run cannot qualify it
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "NOT_RUN", reason="deselected")], INCOMPLETE,
     ["TC-B-01 [TCP] not executed (mandatory; deselected)"]),
    ([case("TC-A-01", "tcp", "FAIL"), case("TC-B-01", "tcp", "NOT_RUN", reason="deselected")], NOT_QUALIFIED,
     ["TC-A-01 [TCP] failed", "TC-B-01 [TCP] not executed"]),
    ([case("TC-A-01", "tcp", "NA"), case("TC-A-01", "tls", "NOT_RUN")], NOT_QUALIFIED, ["no case was executed"]),
    # not claimed (NA), informational failures and transports outside the profile never touch the cover
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "NA"), case("TC-C-01", "tcp", "FAIL", "I"),
      case("TC-A-01", "tls", "NOT_RUN", reason="transport tls is not selected in pixit.transports")], QUALIFIED, []),
])
def test_cover_verdict_rules(cases, outcome, why):
    """The per-case rules, with an empty catalogue so that coverage plays no part."""
    cover = cover_verdict(cases, coverage=NO_CATALOGUE, pics=PICS)
    assert cover.outcome == outcome
    for text in why:
        assert any(r.startswith(text) for r in cover.reasons), cover.reasons
    assert bool(cover.mark) == (outcome in (QUALIFIED, WITH_LIMITATIONS))


def test_listing_mark_needs_passing_tls_and_srtp_cases():
    tls_only = [case("TC-A-01", "tls", "PASS")]
    cover = cover_verdict(tls_only, coverage=NO_CATALOGUE)
    assert (cover.mark, cover.tls_tested) == ("✔", True)
    srtp = tls_only + [dict(case("TC-SRTP-01", "tls", "PASS"), requirements=["SRTP-01"])]
    cover = cover_verdict(srtp, coverage=NO_CATALOGUE)
    assert cover.mark == "✔+S" and cover.mark_text == "Qualified with SRTP & TLS"
    # the profile's own transport list decides what is out of scope
    assert cover_verdict([case("TC-A-01", "tcp", "PASS"), case("TC-A-01", "tls", "NOT_RUN")], ["tcp"],
                         coverage=NO_CATALOGUE).outcome == QUALIFIED


def test_only_the_full_durations_profile_earns_a_listing_mark():
    passed = [case("TC-A-01", "tcp", "PASS")]
    for durations, why in (("quick", "the quick durations profile ran"), (None, "recorded no durations profile")):
        cover = cover_verdict(passed, coverage=NO_CATALOGUE, durations=durations)
        assert (cover.outcome, cover.mark) == (QUALIFIED, "") and why in cover.mark_text
    assert cover_verdict(passed, coverage=NO_CATALOGUE, durations="full").mark == "✔"


def test_seconds_follow_the_durations_profile():
    from sipqual import durations

    assert durations.seconds("quick", quick=2, full=90) == 2.0
    assert durations.seconds("full", quick=2, full=90) == 90.0
    with pytest.raises(ValueError, match="unknown duration profile"):
        durations.seconds("medium", quick=2, full=90)


# ---- cover verdict against the catalogue ----------------------------------------------------------------------------
def test_every_mandatory_catalogue_case_passing_is_qualified():
    cases = every_mandatory()
    assert len(cases) == MANDATORY
    cover = cover_verdict(cases, ["tcp"], coverage_of(cases), PICS)
    assert (cover.outcome, cover.reasons, cover.mark) == (QUALIFIED, [], "✔")
    assert cover.coverage.scope_line() == \
        f"Scope: {MANDATORY} of 126 catalogue cases executed; {MANDATORY} of {MANDATORY} mandatory passed"
    # an R case failing on top: a limitation; N/A (not claimed) and out-of-scope mandatory cases are met
    more = cases + [catalogue_case("TC-OPT-02", "tcp", "FAIL")]
    assert cover_verdict(more, ["tcp"], coverage_of(more), PICS).outcome == WITH_LIMITATIONS
    excused = [dict(c, verdict="NA") if c["id"] == "TC-BAS-02" else c for c in cases] + \
        [catalogue_case("TC-BAS-01", "tls", "NOT_RUN", reason="transport tls is not selected in pixit.transports")]
    cover = cover_verdict(excused, ["tcp"], coverage_of(excused, transports=["tcp"]), PICS)
    assert cover.outcome == QUALIFIED and "1 N/A" in cover.coverage.scope_line()


def test_conditional_severities_follow_the_pics():
    cases = every_mandatory()
    # SRTP & TLS claimed: the five M* cases become mandatory and were not executed
    srtp = dict(PICS, srtp=True)
    cover = cover_verdict(cases, ["tcp"], coverage_of(cases), srtp)
    assert cover.outcome == INCOMPLETE
    assert cover.reasons[0] == f"5 of {MANDATORY + 5} mandatory catalogue cases not executed (see Coverage)"
    # no PICS in the results: M* and M† count as mandatory, and the coverage says so
    cover = cover_verdict(cases, ["tcp"], coverage_of(cases), None)
    assert cover.reasons[0] == f"11 of {MANDATORY + 11} mandatory catalogue cases not executed (see Coverage)"
    assert any("the results hold no PICS" in n for n in cover.coverage.notes)
    # an M* case failing while the PICS do not claim SRTP is optional here (a limitation); SIPconnect cases never
    # touch the Lync cover
    more = cases + [catalogue_case("TC-SRTP-01", "tls", "FAIL"), catalogue_case("TC-SC-01", "tcp", "FAIL")]
    cover = cover_verdict(more, ["tcp", "tls"], coverage_of(more), PICS)
    assert cover.outcome == WITH_LIMITATIONS and cover.reasons == ["TC-SRTP-01 [TLS] failed (optional)"]
    lims = known_limitations(more, PROFILE, {e["id"]: e["counts_as"] for e in cover.coverage.entries})
    assert [li.text for li in lims if "[TLS]" in li.text] == [
        "SRTP required over TLS: SAVP, AES_CM_128_HMAC_SHA1_80, no clear RTP: not met on TC-SRTP-01 [TLS] "
        "(fail reason)."]
    assert cover.coverage.total.cases == 126


def test_the_real_suites_shape_is_incomplete():
    """Three catalogue cases implemented, all passing on TCP and TLS: nothing against the DUT, but no qualification."""
    cover = cover_verdict(REAL_SHAPE, ["tcp", "tls"], coverage_of(REAL_SHAPE), PICS)
    assert (cover.outcome, cover.mark, cover.mark_text) == (INCOMPLETE, "", "incomplete (not for publication)")
    missing = MANDATORY - 3
    assert cover.reasons == [f"{missing} of {MANDATORY} mandatory catalogue cases not executed (see Coverage)"]
    assert cover.coverage.scope_line() == (f"Scope: 3 of 126 catalogue cases executed; 3 of {MANDATORY} mandatory "
                                           f"passed, {missing} not executed ({missing} not implemented in sipqual "
                                           "0.1.0)")
    # without a coverage record the installed catalogue and suites decide, with the same answer
    cover = cover_verdict(REAL_SHAPE, ["tcp", "tls"], pics=PICS)
    assert cover.outcome == INCOMPLETE and not cover.coverage.recorded
    assert cover.reasons[0].startswith(f"{missing} of {MANDATORY} mandatory")


def test_a_mandatory_failure_is_still_not_qualified():
    cases = [dict(c, verdict="FAIL") if (c["id"], c["transport"]) == ("TC-OPT-01", "tls") else c for c in REAL_SHAPE]
    cover = cover_verdict(cases, ["tcp", "tls"], coverage_of(cases), PICS)
    assert cover.outcome == NOT_QUALIFIED and cover.mark == ""
    assert cover.reasons[0] == "TC-OPT-01 [TLS] failed (mandatory)"
    assert any(r.endswith("mandatory catalogue cases not executed (see Coverage)") for r in cover.reasons)
    # and with every other mandatory case passing too
    full = every_mandatory() + [catalogue_case("TC-OPT-01", "tls", "FAIL")]
    assert cover_verdict(full, ["tcp", "tls"], coverage_of(full), PICS).outcome == NOT_QUALIFIED


def test_coverage_statuses():
    cases = [catalogue_case("TC-OPT-01", "tcp", "PASS"), catalogue_case("TC-OPT-01", "tls", "NOT_RUN",
                                                                        reason="deselected"),
             catalogue_case("TC-TRN-01", "tcp", "PASS"), catalogue_case("TC-TRN-01", "tls", "NA")]
    cov = {e["id"]: e for e in coverage_of(cases, IMPLEMENTED + ("TC-BAS-03",))["cases"]}
    assert (cov["TC-OPT-01"]["status"], cov["TC-OPT-01"]["verdict"], cov["TC-OPT-01"]["executed"]) == \
        ("not run", "NOT_RUN", True)
    assert cov["TC-OPT-01"]["transports"] == {"tcp": "PASS", "tls": "NOT_RUN"}
    assert (cov["TC-TRN-01"]["status"], cov["TC-TRN-01"]["verdict"]) == ("passed", "PASS")
    tls_only = [catalogue_case("TC-TRN-02", "tls", "NOT_RUN", reason="transport tls is not selected in "
                                                                   "pixit.transports")]
    trn02 = next(e for e in coverage_of(tls_only, transports=["tcp"])["cases"] if e["id"] == "TC-TRN-02")
    assert (trn02["status"], trn02["executed"], trn02["verdict"]) == ("out of scope", False, "NOT_RUN")
    assert (cov["TC-BAS-03"]["status"], cov["TC-BAS-03"]["verdict"]) == ("not in run", None)
    assert (cov["TC-BAS-01"]["status"], cov["TC-BAS-01"]["implemented"]) == ("not implemented", False)
    assert cov["TC-SC-01"]["profile"] == "sipconnect" and cov["TC-SRTP-01"]["severity"] == "M*"


# ---- rendering crafted results --------------------------------------------------------------------------------------
class Dom(HTMLParser):
    """Tags, attributes and text of an HTML document."""

    def __init__(self, doc: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(doc)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def by_id(self, ident: str) -> dict | None:
        return next((a for t, a in self.tags if a.get("id") == ident), None)


def test_crafted_run_renders_every_verdict_escaped_and_without_secrets(tmp_path):
    run = write_run(tmp_path)
    out = render_report(run, pdf=False)
    doc = out.html.read_text()
    dom = Dom(doc)
    text = " ".join(dom.text)
    # self-contained: no scripts, no external stylesheets, fonts or images; links only to the run's own files
    assert not [t for t, _ in dom.tags if t in ("script", "link", "img", "iframe", "object")]
    refs = [a.get("href") or a.get("src") for _, a in dom.tags if a.get("href") or a.get("src")]
    assert refs and all(r.startswith("#") or r.startswith("cases/") for r in refs), refs
    # hostile text from the profile and the findings is shown as text, never as markup
    assert HOSTILE in text and "<script>" not in doc
    # the profile's password never reaches the report
    assert PASSWORD not in doc and "***" in text
    # cover: not qualified, and why (the mandatory FAIL, the mandatory ERROR, the deselected mandatory case)
    assert "Not qualified" in text and dom.by_id("cover-verdict") is not None
    for why in ("TC-OPT-01 [TLS] failed (mandatory)", "TC-TRN-01 [TCP] could not be verified",
                "TC-TRN-02 [TLS] not executed", "TC-OPT-02 [TCP] failed (recommended)"):
        assert why in text
    # an older results.json (schema 1.1, no coverage record): judged against the installed catalogue, and said so
    assert dom.by_id("cover-scope") is not None and "Scope: 3 of 126 catalogue cases executed" in text
    assert "hold no coverage record" in text and dom.by_id("coverage-cases") is not None
    # every verdict appears as a badge in the results table, and the overall counts are right
    table = doc.split('id="results-table"')[1].split("</table>")[0]
    assert set(re.findall(r'<span class="v v-(\w+)">([^<]+)</span>', table)) == {
        ("PASS", "Pass"), ("FAIL", "Fail"), ("NA", "N/A"), ("ERROR", "Error"), ("NOT_RUN", "Not run")}
    overall = re.findall(r'data-verdict="(\w+)" data-scope="overall">(\d+)<', doc)
    assert dict(overall) == {"PASS": "1", "FAIL": "2", "NA": "1", "ERROR": "1", "NOT_RUN": "1"}
    # OIP-style notes and limitations, and the listing row
    assert "Disable REFER support" in text and "does not generate OPTIONS ping" in text
    assert "not for publication" in text and dom.by_id("listing-row") is not None
    # per-case appendix: a section per case with evidence, a table row for the others; every in-page link lands
    assert len([a for t, a in dom.tags if t == "section" and "case" in (a.get("class") or "")]) == 2
    ids = {a["id"] for _, a in dom.tags if "id" in a}
    assert {f"case-{c['id']}-{c['transport']}" for c in CASES} <= ids
    assert {r[1:] for r in refs if r.startswith("#")} <= ids
    assert 'href="cases/TC-OPT-01-tcp/capture.pcapng"' in doc
    # a capture tshark cannot read: said once in the appendix, and no ladder drawn
    assert text.count("isn't a capture file") == 1 and 'class="ladder"' not in doc


def test_crafted_outcomes_reach_the_cover(tmp_path):
    full = every_mandatory()
    for name, cases, outcome in (
            ("q", full, QUALIFIED),
            ("l", full + [catalogue_case("TC-OPT-02", "tcp", "FAIL")], WITH_LIMITATIONS),
            ("i", REAL_SHAPE, INCOMPLETE),
            ("n", [catalogue_case("TC-OPT-01", "tcp", "FAIL")], NOT_QUALIFIED)):
        doc = render_report(write_run(tmp_path / name, cases, coverage=coverage_of(cases)), pdf=False).html.read_text()
        assert f'id="cover-verdict">{outcome}</div>' in doc
        assert ("✔ Qualified" in doc.split('id="listing-row"')[1]) == (outcome in (QUALIFIED, WITH_LIMITATIONS))
    # the same qualified run with the quick durations: the same outcome, no mark, and the cover says why
    doc = render_report(write_run(tmp_path / "quick", full, coverage=coverage_of(full), durations="quick"),
                        pdf=False).html.read_text()
    assert f'id="cover-verdict">{QUALIFIED}</div>' in doc and "✔ Qualified" not in doc.split('id="listing-row"')[1]
    assert "quick: short calls and holds" in doc and "only a run with --durations full earns" in doc


def test_real_suites_shape_renders_incomplete_with_its_coverage(tmp_path):
    run = write_run(tmp_path, REAL_SHAPE, coverage=coverage_of(REAL_SHAPE))
    doc = render_report(run, pdf=False).html.read_text()
    dom = Dom(doc)
    text = " ".join(" ".join(dom.text).split())
    missing = MANDATORY - 3
    assert 'id="cover-verdict">Incomplete</div>' in doc and "incomplete (not for publication)" in text
    scope = (f"Scope: 3 of 126 catalogue cases executed; 3 of {MANDATORY} mandatory passed, {missing} not executed "
             f"({missing} not implemented in sipqual 0.1.0)")
    cover = doc.split('id="cover-scope">')[1].split("</div>")[0]
    assert scope in cover and 'href="#coverage"' in cover
    assert f"{missing} of {MANDATORY} mandatory catalogue cases not executed (see Coverage)" in text
    # Coverage: per suite group, then every catalogue case with its status; the snapshot recorded with the run
    table = doc.split('id="coverage-table"')[1].split("</table>")[0]
    assert re.search(r"<td>Total</td><td>126</td><td>3</td><td>3</td><td>3</td><td>" + str(MANDATORY) +
                     r"</td><td>3</td><td>" + str(missing) + "</td>", table), table[-400:]
    rows = dict(re.findall(r'data-id="(TC-[A-Z0-9]+-\d\d)" data-status="([^"]+)"', doc))
    assert len(rows) == 136 and set(rows) == {c.id for c in catalogue.CASES + catalogue.EXTENSION_CASES}
    assert {i: rows[i] for i in IMPLEMENTED} == dict.fromkeys(IMPLEMENTED, "passed")
    assert {s for i, s in rows.items() if i not in IMPLEMENTED} == {"not implemented"}
    listed = [doc.split(f'id="{t}"')[1].split("</table>")[0] for t in ("coverage-cases", "coverage-sipconnect",
                                                                  "coverage-sipqual")]
    assert [t.count("not implemented in sipqual 0.1.0") for t in listed] == [123, 6, 4]
    assert "recorded with this run" in text and "hold no coverage record" not in text
    assert "SIPconnect profile add-ons (not counted in the Lync figures)" in text
    assert "not mandatory here" in text    # M*/M† cases: this DUT claims neither SRTP nor media bypass
    # the scope section points at the Coverage section instead of the old one-line excuse
    assert "not tested, not listed" not in text and dom.by_id("scope-coverage") is not None
    assert f"Catalogue cases not executed in this run: 123 of 126 (123 not implemented in sipqual 0.1.0; {missing} " \
           "of them mandatory for this DUT)" in text
    ids = {a["id"] for _, a in dom.tags if "id" in a}
    assert {a["href"][1:] for _, a in dom.tags if a.get("href", "").startswith("#")} <= ids


def test_old_results_without_coverage_or_profile_render(tmp_path):
    """A results.json from before schema 1.2 without a profile: installed catalogue, M*/M† counted as mandatory."""
    run = write_run(tmp_path, REAL_SHAPE, profile=None)
    doc = render_report(run, pdf=False).html.read_text()
    text = " ".join(" ".join(Dom(doc).text).split())
    assert 'id="cover-verdict">Incomplete</div>' in doc
    assert f"{MANDATORY + 8} of {MANDATORY + 11} mandatory catalogue cases not executed" in text
    assert "counted as mandatory: the results hold no PICS" in text and "hold no coverage record" in text


def test_report_command_and_usage_errors(tmp_path, capsys):
    run = write_run(tmp_path)
    assert main(["report", str(run)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"sipqual: report: {(run / 'report.html').resolve()}"
    assert (run / "report.pdf").stat().st_size > 0
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    (run / "results.json").write_text("{not json")
    assert main(["report", str(run)]) == 2


# ---- in a real browser ----------------------------------------------------------------------------------------------
def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def pdf_pages_and_text(path: Path) -> tuple[int, str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pages, text


def check_in_chromium(html: Path, shots: Path) -> str:
    """Load the report in headless Chromium: the DOM it built, and a screenshot of the first screen."""
    dom = run_headless(["--dump-dom"], html.resolve().as_uri())
    shot = shots / f"{html.parent.name}.png"
    run_headless([f"--screenshot={shot}", "--window-size=1280,1600"], html.resolve().as_uri())
    assert png_size(shot) == (1280, 1600) and shot.stat().st_size > 20_000  # a blank page compresses to ~5 kB
    return dom


def test_crafted_report_in_chromium_and_as_pdf(tmp_path):
    run = write_run(tmp_path)
    out = render_report(run)
    assert out.pdf is not None and out.note is None
    dom = check_in_chromium(out.html, tmp_path)
    assert re.search(r'id="cover-verdict">Not qualified<', dom)
    assert '<table class="counts" id="summary-counts">' in dom and 'id="results-table"' in dom
    pages, text = pdf_pages_and_text(out.pdf)
    assert pages >= 5 and "Not qualified" in text and "Executive summary" in text and PASSWORD not in text
    first = text.split("\f")[0]
    assert "Scope: 3 of 126 catalogue cases executed" in " ".join(first.split())   # on the cover page
    assert "Coverage of the requirement catalogue" in text and "TC-ROB-07" in text


@needs_root
def test_report_from_a_real_lab_run(tmp_path):
    cp = qualify_one_case(tmp_path)
    last = cp.stdout.strip().splitlines()[-1]
    assert last.startswith("sipqual: report: /") and last.endswith("/report.html"), cp.stdout[-2000:] + cp.stderr
    html = Path(last.split(": ", 2)[2])
    assert html == (tmp_path / "latest" / "report.html").resolve()
    dom = check_in_chromium(html, tmp_path)
    # one mandatory case passed on TCP, the others were deselected: incomplete, not "not qualified"
    assert re.search(r'id="cover-verdict">Incomplete<', dom)
    assert "TC-TRN-01 [TCP] not executed" in dom and "Scope: 1 of 126 catalogue cases executed" in dom
    assert 'data-verdict="PASS" data-scope="overall">1<' in dom
    # every other instance (one per transport of each implemented case; TLS-only cases have one) NOT_RUN
    cases = json.loads((tmp_path / "latest" / "results.json").read_text())["cases"]
    assert {c["id"] for c in cases} == implemented_case_ids() and len(cases) > len(implemented_case_ids())
    assert f'data-verdict="NOT_RUN" data-scope="overall">{len(cases) - 1}<' in dom
    # the ladder from the capture: both OPTIONS and its 200, with frame numbers, between the Mediation side and DUT
    ladder = re.search(r'<svg[^>]*class="ladder".*?</svg>', dom, re.S)
    assert ladder, "no ladder diagram"
    assert "OPTIONS sbc.lab.example:5066" in ladder.group(0) and "200 OK (OPTIONS)" in ladder.group(0)
    assert "192.0.2.10" in ladder.group(0) and "192.0.2.1" in ladder.group(0)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="topology"' in dom and "CN=sbc.lab.example" in dom
    pages, text = pdf_pages_and_text(html.with_suffix(".pdf"))
    assert pages >= 5 and "TC-OPT-01" in text and "Incomplete" in text
    assert "PRIVATE KEY" not in html.read_text()


def test_chromium_is_installed():
    """The PDF is only skipped on machines without Chromium; the project's machines have it (bootstrap)."""
    assert shutil.which("chromium") and shutil.which("pdftotext")


# ---- external gear speaks as external gear; the DUT's certificate from the wire (issue 10 items 7 and 15) ----------
def _text(doc: str) -> str:
    return " ".join(" ".join(Dom(doc).text).split())


def _with_kind(run: Path, kind: str) -> Path:
    import json

    doc = json.loads((run / "results.json").read_text())
    doc["dut"]["kind"] = kind
    (run / "results.json").write_text(json.dumps(doc))
    return run


def test_external_gear_is_reported_as_external_gear(tmp_path):
    text = _text(render_report(write_run(tmp_path), pdf=False).html.read_text())   # the crafted run is external
    assert "toward external gear" in text and "namespace lab" not in text and "network namespaces" not in text
    assert "DUT reachable on its trunk ports" in text and "DUT reachable after every case" in text
    assert "process alive" not in text and "DUT started" not in text
    managed = _text(render_report(_with_kind(write_run(tmp_path / "m"), "managed"), pdf=False).html.read_text())
    assert "namespace lab" in managed and "process alive" in managed


def test_criteria_that_do_not_apply_are_na_and_unclaimed_transports_are_no_headline(tmp_path):
    tcp_only = {**PROFILE, "pics": {**PICS, "tls": False, "mtls": False},
                "pixit": {**PROFILE["pixit"], "transports": ["tcp"]}}
    na = "N/A: the DUT profile does not claim TLS (pics.tls)"
    cases = [catalogue_case(i, "tcp", "PASS") for i in IMPLEMENTED] + [
        catalogue_case(i, "tls", "NA", reason=na) for i in IMPLEMENTED]
    doc = render_report(write_run(tmp_path, cases, profile=tcp_only), pdf=False).html.read_text()
    crit = doc.split("<h3>Entry criteria</h3>")[1].split("</table>")[0]
    cert_row = next(r for r in crit.split("<tr>") if "Certificates" in r)
    assert "N/A" in cert_row and "not met" not in cert_row and "TLS not in the run" in cert_row
    headline = _text(doc.split("Headline")[1].split("</ul>")[0])
    assert "not supported (" not in headline and headline.count("TLS not supported") == 1, headline
    assert "pics.tls" not in headline


def test_topology_shows_the_dut_certificate_presented_on_the_wire(tmp_path):
    import json

    from sipqual.pki import cert_info, create_pki
    from tlswire import DUT, MS, Side, options_pair, tls_capture

    pki = create_pki(tmp_path / "pki", {"mediation": {"cn": "mspool.lab.example", "dns": ["mspool.lab.example"]},
                                        "dut": {"cn": "gw.vendor.example", "dns": ["gw.vendor.example"],
                                                "ips": ["192.0.2.1"]}})
    run = write_run(tmp_path / "runs", [catalogue_case("TC-OPT-01", "tls", "PASS")])
    case_dir = run / "cases" / "TC-OPT-01-tls"
    w = tls_capture(case_dir, Side(MS, 40001, pki.certs["mediation"].cert, pki.certs["mediation"].key, pki.ca.cert),
                    Side(DUT, 5067, pki.certs["dut"].cert, pki.certs["dut"].key, pki.ca.cert),
                    messages=options_pair(MS, DUT))
    dut = cert_info(pki.certs["dut"].cert)
    (case_dir / "tls-events.jsonl").write_text(json.dumps({
        "event": "handshake_ok", "mode": "client", "pid": 1, "conn": 1, "peer_cert_subject": "CN=gw.vendor.example",
        "peer_cert_issuer": "CN=Lab Test CA", "peer_cert_san": ["DNS:gw.vendor.example", "IP:192.0.2.1"],
        "peer_cert_sha256": dut["sha256"]}) + "\n")
    doc = json.loads((run / "results.json").read_text())
    doc["cases"][0]["verification"] = {"capture": "cases/TC-OPT-01-tls/tls.pcapng",
                                       "keylog": "cases/TC-OPT-01-tls/tls-keys.log", "tls_ports": [5067],
                                       "tcp_ports": [], "dut_addresses": [DUT],
                                       "tls_events": ["cases/TC-OPT-01-tls/tls-events.jsonl"]}
    (run / "results.json").write_text(json.dumps(doc))
    html = render_report(run, pdf=False).html.read_text()
    table = html.split('id="topology-certs"')[1].split("</table>")[0]
    row = next(r for r in table.split("<tr>") if "presented on the wire" in r)
    assert "DUT as TLS server (presented on the wire, TC-OPT-01 [TLS], frame " in row
    assert "CN=gw.vendor.example" in row and "IP:192.0.2.1" in row and dut["sha256"] in row
    assert dut["not_after"] in row and "Lab Test CA" in row
    assert table.count("presented on the wire") == 1      # the edge's record of the same certificate is merged
    assert "gw.vendor.example" in html.split('id="topology"')[1].split("</svg>")[0]   # in the diagram's DUT box
