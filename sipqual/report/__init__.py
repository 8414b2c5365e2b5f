"""The qualification report of a saved run: ``report.html`` (self-contained, the primary product) and
``report.pdf`` (the same printed by headless Chromium), written into the run directory.

Modules: :mod:`.rundata` (reading results.json), :mod:`.verdicts` (cover verdict rules, catalogue coverage),
:mod:`.listing` (OIP-style notes, limitations, listing row), :mod:`.casefiles` + :mod:`.ladder` (per-case appendix
from the capture), :mod:`.topology`, :mod:`.html`, :mod:`.pdf`, :mod:`.bundle` (evidence bundle and its
verification).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError
from ..results import now_iso


@dataclass
class Rendered:
    html: Path
    pdf: Path | None
    note: str | None      # why there is no PDF (one line), else None
    seconds: float


def render_report(run_dir, pdf: bool = True) -> Rendered:
    """Write ``report.html`` (and ``report.pdf`` unless ``pdf`` is False or Chromium is missing/fails)."""
    from .casefiles import analyse_all
    from .html import render_html
    from .pdf import render_pdf
    from .rundata import load_run

    t0 = time.monotonic()
    run = load_run(run_dir)
    doc = render_html(run, analyse_all(run, run.cases), now_iso())
    html_path = run.dir / "report.html"
    tmp = html_path.with_name(f".report.html.{os.getpid()}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, html_path)
    pdf_path, note = None, None
    if pdf:
        try:
            pdf_path = render_pdf(html_path, run.dir / "report.pdf")
        except LabError as e:
            note = f"PDF skipped: {e}"
    return Rendered(html_path.resolve(), pdf_path, note, time.monotonic() - t0)
