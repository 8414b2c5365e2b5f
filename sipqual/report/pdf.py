"""Headless Chromium (Debian package ``chromium``): the HTML report printed to PDF, and the same runner for
screenshots and DOM dumps in tests.

Every run gets its own temporary profile directory (removed afterwards, also after SIGINT/SIGTERM: see
:mod:`sipqual.interrupts`) and its own process group, with a bounded
timeout; on every exit path (success, timeout, exception, Ctrl-C) the whole group is killed and the child reaped,
because Chromium leaves helper processes (zygote, GPU, renderer) behind its main process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .. import interrupts
from ..errors import LabError

TIMEOUT_S = 60
_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, _NAMES) if p), None)


def run_headless(args: list[str], url: str, timeout: float = TIMEOUT_S) -> str:
    """Run ``chromium --headless <args> <url>``; returns stdout. Raises :class:`LabError` (one line) when Chromium
    is missing, times out or fails."""
    exe = find_chromium()
    if exe is None:
        raise LabError("chromium not installed (Debian package 'chromium')")
    profile = tempfile.mkdtemp(prefix="sipqual-chromium-")
    proc = None
    try:
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-sync", "--hide-scrollbars", "--mute-audio", f"--user-data-dir={profile}",
                *args, url]
        with interrupts.cleanup():  # started and known to the finally below, or not started at all
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, "HOME": profile})
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"chromium did not finish within {timeout:.0f} s") from None
    finally:
        with interrupts.cleanup():  # SIGINT/SIGTERM meanwhile: Chromium's group and its profile still go
            if proc is not None:
                _kill_group(proc)
            shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        tail = [line for line in err.decode(errors="replace").splitlines() if line.strip()][-1:] or [""]
        raise LabError(f"chromium exited with {proc.returncode}: {tail[0][:200]}")
    return out.decode(errors="replace")


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group Chromium started (its helpers too) and reap the main process."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):  # pragma: no cover - SIGKILL is not ignorable
        pass


def render_pdf(html_path: Path, pdf_path: Path, timeout: float = TIMEOUT_S) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4 landscape from the report's @page rule, no browser header/footer)."""
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    tmp = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.tmp")
    try:
        run_headless([f"--print-to-pdf={tmp}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw"],
                     html_path.as_uri(), timeout)
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise LabError("chromium wrote no PDF")
        os.replace(tmp, pdf_path)
    finally:
        tmp.unlink(missing_ok=True)
    return pdf_path
