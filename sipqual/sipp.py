"""SIPp agents as bounded subprocesses, each in its own working directory with all its trace files.

Lessons built in (see the Asterisk testsuite's sipp.py and pysipp's command.py):
- always ``-nostdin``, an explicit ``-m``, ``-timeout`` *with* ``-timeout_error``, and an outer wall-clock timeout;
- every trace file named per agent (``-message_file``, ``-error_file``, ``-stf``, ``-screen_file``);
- explicit control port (``-cp``) and media ports allocated in blocks of four (SIPp also binds media port + 2);
- exit codes read together with the statistics file: SIPp exits 0 when *one* call succeeded even if ``-m`` was not
  reached (SIPp issue #509), so the successful-call count decides.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from . import netns as netns_mod
from .errors import AgentError, LabError
from .procs import Proc, Supervisor, require_tool

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

EXIT_MEANING = {
    0: "all calls succeeded",
    1: "at least one call failed",
    97: "exit on internal command or global timeout",
    99: "normal exit without calls processed",
    255: "fatal error",
    254: "socket bind failure",
}


class PortPool:
    """Hands out ports per namespace so agents running at the same time never clash."""

    def __init__(self, sip_base: int = 15060, media_base: int = 16000, ctrl_base: int = 18000):
        self._sip = itertools.count()
        self._media = itertools.count()
        self._ctrl = itertools.count()
        self.sip_base, self.media_base, self.ctrl_base = sip_base, media_base, ctrl_base

    def sip(self) -> int:
        return self.sip_base + next(self._sip) % 900

    def media(self) -> int:
        # blocks of 4: RTP, RTCP, and SIPp's video port (+2) and its RTCP
        return self.media_base + 4 * (next(self._media) % 2000)

    def ctrl(self) -> int:
        return self.ctrl_base + next(self._ctrl) % 900


@dataclass
class SippResult:
    name: str
    exit_code: int
    successful: int | None
    failed: int | None
    expected_calls: int
    workdir: Path

    @property
    def meaning(self) -> str:
        return EXIT_MEANING.get(self.exit_code, f"unknown exit code {self.exit_code}")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.successful == self.expected_calls and not self.failed

    def summary(self) -> str:
        return (f"SIPp {self.name}: exit {self.exit_code} ({self.meaning}), "
                f"{self.successful} of {self.expected_calls} calls succeeded, {self.failed} failed")

    def error_tail(self, lines: int = 3) -> str:
        err = self.workdir / "errors.log"
        if not err.exists():
            return ""
        text = [ln for ln in err.read_text(errors="replace").splitlines() if ln.strip()]
        return " | ".join(text[-lines:])


@dataclass
class Agent:
    """One SIPp process: a scenario from ``scenarios/`` played on one side of the DUT."""

    name: str
    scenario: str
    netns: str | None
    local_ip: str
    local_port: int
    transport: str                       # "tcp" or "udp" (TLS legs use TCP to a TLS edge)
    remote: str | None = None            # "ip:port" for a UAC
    keys: dict[str, str] = field(default_factory=dict)
    calls: int = 1
    timeout_s: int = 30
    pause_ms: int = 2000
    media_port: int = 16000
    ctrl_port: int = 18000
    extra: list[str] = field(default_factory=list)

    def argv(self, workdir: Path) -> list[str]:
        scen = SCENARIO_DIR / self.scenario
        if not scen.exists():
            raise LabError(f"scenario {scen} does not exist")
        argv = [require_tool("sipp"), "-sf", str(scen),
                "-t", "t1" if self.transport == "tcp" else "u1",
                "-i", self.local_ip, "-p", str(self.local_port), "-bind_local",
                "-mi", self.local_ip, "-mp", str(self.media_port), "-cp", str(self.ctrl_port),
                "-m", str(self.calls), "-l", str(self.calls), "-nostdin", "-nr" if self.transport == "tcp" else "",
                "-timeout", f"{self.timeout_s}s", "-timeout_error", "-recv_timeout", f"{self.timeout_s * 1000}",
                "-d", str(self.pause_ms),
                "-trace_msg", "-message_file", str(workdir / "messages.log"),
                "-trace_err", "-error_file", str(workdir / "errors.log"),
                "-trace_stat", "-stf", str(workdir / "stats.csv"), "-fd", "1",
                "-trace_screen", "-screen_file", str(workdir / "screen.log")]
        argv = [a for a in argv if a != ""]
        for k, v in self.keys.items():
            argv += ["-key", k, str(v)]
        argv += self.extra
        if self.remote:
            argv.append(self.remote)
        return argv


class SippRun:
    """A started agent; :meth:`finish` waits (bounded) and interprets the outcome."""

    def __init__(self, agent: Agent, proc: Proc, workdir: Path):
        self.agent, self.proc, self.workdir = agent, proc, workdir

    def finish(self, extra_wait: float = 10.0) -> SippResult:
        try:
            code = self.proc.wait(timeout=self.agent.timeout_s + extra_wait)
        except AgentError:
            code = -9
        if code < 0:
            code = 256 + code if code in (-1, -2) else code
        succ, fail = _read_stats(self.workdir / "stats.csv")
        return SippResult(self.agent.name, code, succ, fail, self.agent.calls, self.workdir)

    def stop(self) -> None:
        self.proc.stop(grace=2.0)


def _read_stats(path: Path) -> tuple[int | None, int | None]:
    """Successful and failed call counts (cumulative) from the last row of SIPp's ``-trace_stat`` CSV."""
    if not path.exists():
        return None, None
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return None, None
    header, last = rows[0], rows[-1]
    try:
        return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])
    except (ValueError, IndexError):
        return None, None


def start(agent: Agent, sup: Supervisor, workdir: Path, *, server: bool = False, wait: bool = True) -> SippRun:
    """Start an agent. For a server (UAS) wait until its SIP socket is really listening, and is its own (a port
    another process holds is an ERROR naming that process): probing, not sleeping. ``wait=False``: the caller
    calls :func:`ready` later (several agents come up at the same time)."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = sup.start(f"sipp-{agent.name}", agent.argv(workdir), cwd=workdir, netns=agent.netns)
    run = SippRun(agent, proc, workdir)
    if server and wait:
        ready(run)
    return run


def ready(run: SippRun) -> None:
    """Wait until a server agent listens on its own socket (see :func:`start`)."""
    agent, proc = run.agent, run.proc
    try:
        netns_mod.wait_listening(agent.netns, agent.transport, agent.local_ip, agent.local_port, timeout=10,
                                 what=f"SIPp {agent.name}", owner=proc)
    except LabError as e:
        proc.stop()
        res = run.finish(extra_wait=1)
        raise AgentError(f"{e} (exit {res.exit_code}: {res.meaning}; {res.error_tail() or proc.stderr_tail()})") \
            from None
