"""The qualification report: cover verdict rules, rendering from crafted results (every verdict, every cover
outcome, hostile text, secrets), and from a real lab run, checked in headless Chromium (DOM, screenshot) and as PDF
(pages and text)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_runs import CASES, HOSTILE, PASSWORD, case, needs_root, qualify_one_case, write_run

from sipqual.cli import main
from sipqual.report import render_report
from sipqual.report.pdf import run_headless
from sipqual.report.verdicts import NOT_QUALIFIED, QUALIFIED, WITH_LIMITATIONS, cover_verdict


# ---- cover verdict rules --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cases, outcome, why", [
    ([case("TC-A-01", "tcp", "PASS"), case("TC-A-01", "tls", "PASS")], QUALIFIED, []),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "FAIL", "R")], WITH_LIMITATIONS, ["TC-B-01 [TCP] failed"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "ERROR", "O")], WITH_LIMITATIONS,
     ["TC-B-01 [TCP] could not be verified"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tls", "FAIL")], NOT_QUALIFIED, ["TC-B-01 [TLS] failed"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "ERROR")], NOT_QUALIFIED,
     ["TC-B-01 [TCP] could not be verified (ERROR on a mandatory case)"]),
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "NOT_RUN", reason="deselected")], NOT_QUALIFIED,
     ["TC-B-01 [TCP] not executed"]),
    ([case("TC-A-01", "tcp", "NA"), case("TC-A-01", "tls", "NOT_RUN")], NOT_QUALIFIED, ["no case was executed"]),
    # not claimed (NA), informational failures and transports outside the profile never touch the cover
    ([case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "NA"), case("TC-C-01", "tcp", "FAIL", "I"),
      case("TC-A-01", "tls", "NOT_RUN", reason="transport tls is not selected in pixit.transports")], QUALIFIED, []),
])
def test_cover_verdict_rules(cases, outcome, why):
    cover = cover_verdict(cases)
    assert cover.outcome == outcome
    for text in why:
        assert any(r.startswith(text) for r in cover.reasons), cover.reasons
    assert bool(cover.mark) == (outcome != NOT_QUALIFIED)


def test_listing_mark_needs_passing_tls_and_srtp_cases():
    tls_only = [case("TC-A-01", "tls", "PASS")]
    assert (cover_verdict(tls_only).mark, cover_verdict(tls_only).tls_tested) == ("✔", True)
    srtp = tls_only + [dict(case("TC-SRTP-01", "tls", "PASS"), requirements=["SRTP-01"])]
    assert cover_verdict(srtp).mark == "✔+S" and cover_verdict(srtp).mark_text == "Qualified with SRTP & TLS"
    # the profile's own transport list decides what is out of scope
    assert cover_verdict([case("TC-A-01", "tcp", "PASS"), case("TC-A-01", "tls", "NOT_RUN")], ["tcp"]).outcome \
        == QUALIFIED


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
    for name, cases, outcome in (
            ("q", [case("TC-A-01", "tcp", "PASS")], QUALIFIED),
            ("l", [case("TC-A-01", "tcp", "PASS"), case("TC-B-01", "tcp", "FAIL", "R")], WITH_LIMITATIONS),
            ("n", [case("TC-A-01", "tcp", "FAIL")], NOT_QUALIFIED)):
        doc = render_report(write_run(tmp_path / name, cases), pdf=False).html.read_text()
        assert f'id="cover-verdict">{outcome}</div>' in doc


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


@needs_root
def test_report_from_a_real_lab_run(tmp_path):
    cp = qualify_one_case(tmp_path)
    last = cp.stdout.strip().splitlines()[-1]
    assert last.startswith("sipqual: report: /") and last.endswith("/report.html"), cp.stdout[-2000:] + cp.stderr
    html = Path(last.split(": ", 2)[2])
    assert html == (tmp_path / "latest" / "report.html").resolve()
    dom = check_in_chromium(html, tmp_path)
    # one mandatory case passed, the others were deselected: the exit criteria are not met
    assert re.search(r'id="cover-verdict">Not qualified<', dom)
    assert "TC-TRN-01 [TCP] not executed" in dom
    assert 'data-verdict="PASS" data-scope="overall">1<' in dom
    assert 'data-verdict="NOT_RUN" data-scope="overall">5<' in dom
    # the ladder from the capture: both OPTIONS and its 200, with frame numbers, between the Mediation side and DUT
    ladder = re.search(r'<svg[^>]*class="ladder".*?</svg>', dom, re.S)
    assert ladder, "no ladder diagram"
    assert "OPTIONS sbc.lab.example:5066" in ladder.group(0) and "200 OK (OPTIONS)" in ladder.group(0)
    assert "192.0.2.10" in ladder.group(0) and "192.0.2.1" in ladder.group(0)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="topology"' in dom and "CN=sbc.lab.example" in dom
    pages, text = pdf_pages_and_text(html.with_suffix(".pdf"))
    assert pages >= 5 and "TC-OPT-01" in text and "Not qualified" in text
    assert "PRIVATE KEY" not in html.read_text()


def test_chromium_is_installed():
    """The PDF is only skipped on machines without Chromium; the project's machines have it (bootstrap)."""
    assert shutil.which("chromium") and shutil.which("pdftotext")
