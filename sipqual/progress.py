"""Live progress of a qualification run (``sipqual qualify``): one line per finished case with its verdict, the
verdicts so far, the elapsed and the estimated remaining time; on a terminal also a status line naming the case in
progress. Plain (no ANSI, nothing rewritten, one line per case) when stdout is no terminal or ``CI=true``.

    [ 5/41] TC-OPT-01 tcp  PASS   1.2 s | PASS 4 NA 1 | 0:42 elapsed, ~4:51 left
"""

from __future__ import annotations

import os
import sys
import time

from .verdict import Verdict

ORDER = [v.value for v in Verdict]
_COLOUR = {"PASS": "\x1b[32m", "FAIL": "\x1b[31;1m", "ERROR": "\x1b[35;1m", "NA": "\x1b[36m", "NOT_RUN": "\x1b[33m"}


def clock(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def plain_wanted(stream=None, env=None) -> bool:
    """No ANSI: not a terminal, or CI=true (CI logs keep every byte)."""
    stream = stream or sys.stdout
    env = os.environ if env is None else env
    return env.get("CI", "").lower() == "true" or not getattr(stream, "isatty", lambda: False)()


class Progress:
    def __init__(self, write, plain: bool, total: int = 0, now=time.monotonic):
        self.write, self.plain, self.total, self.now = write, plain, total, now
        self.started = now()
        self.done = 0
        self.ran = 0          # cases that ran (PASS, FAIL, ERROR): N/A and NOT_RUN are decided in no time
        self.counts: dict[str, int] = {}
        self.running: dict[str, str] = {}   # nodeid -> test name, for the status line
        self._status = False

    @classmethod
    def for_config(cls, config) -> "Progress | None":
        if not config.getoption("sipqual_progress", False):
            return None
        def write(text: str) -> None:  # the terminal reporter exists once pytest_configure is done
            tr = config.pluginmanager.getplugin("terminalreporter")
            if tr is not None:
                tr.write(text, flush=True)
            else:
                sys.stdout.write(text)
                sys.stdout.flush()

        return cls(write, plain_wanted())

    def _times(self) -> str:
        elapsed = self.now() - self.started
        left = ""
        if self.ran and self.total > self.done:   # time per case that ran, for every case still to come
            left = f", ~{clock(elapsed / self.ran * (self.total - self.done))} left"
        return f"{clock(elapsed)} elapsed{left}"

    def _so_far(self) -> str:
        return " ".join(f"{k} {self.counts[k]}" for k in ORDER if self.counts.get(k))

    def case_started(self, nodeid: str) -> None:
        """Terminal only: the status line (rewritten) names the cases in progress (one per parallel lab)."""
        self.running[nodeid] = nodeid.rsplit("::", 1)[-1]
        self._show_status()

    def _show_status(self) -> None:
        if self.plain or not self.running:
            return
        self.write(f"\r\x1b[K  running {', '.join(self.running.values())} | {self.done}/{self.total or '?'} done | "
                   f"{self._times()}")
        self._status = True

    def case_done(self, res) -> None:
        self.done += 1
        self.ran += res.verdict in ("PASS", "FAIL", "ERROR")
        self.counts[res.verdict] = self.counts.get(res.verdict, 0) + 1
        width = len(str(self.total or self.done))
        verdict = f"{res.verdict:7}"
        if not self.plain:
            verdict = f"{_COLOUR.get(res.verdict, '')}{verdict}\x1b[0m"
        line = (f"[{self.done:>{width}}/{self.total or '?'}] {res.id} {res.transport or '-':3}  {verdict} "
                f"{res.duration_s:5.1f} s | {self._so_far()} | {self._times()}")
        if res.verdict in ("FAIL", "ERROR"):
            line += f"\n        {res.reason[:160]}"
        self.write(("\r\x1b[K" if self._status else "") + line + "\n")
        self._status = False
        self.running.pop(res.nodeid, None)
        self._show_status()

    def finish(self) -> None:
        if self._status:
            self.write("\r\x1b[K")
            self._status = False
