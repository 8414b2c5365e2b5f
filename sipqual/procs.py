"""Processes the suite starts: each one recorded by PID in a file, stopped by that PID and nothing else.

Every process runs in its own session (so a terminal's Ctrl-C reaches only the suite, which then tears down in
order) and has its PID written to ``<state_dir>/pids/<name>.pid`` together with its command line. A later run that
finds the state directory of a crashed run uses :func:`kill_recorded` to stop exactly those processes, after checking
that the PID still runs the same command (PIDs get reused).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import interrupts
from .errors import AgentError, ToolMissing


def require_tool(name: str) -> str:
    """Return the path of an external program or raise a one-line :class:`ToolMissing`."""
    path = shutil.which(name)
    if not path:
        raise ToolMissing(f"required tool '{name}' is not installed (run scripts/bootstrap.sh as root)")
    return path


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie still answers kill(0); look at its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


@dataclass
class Proc:
    """One started process with its log files."""

    name: str
    argv: list[str]
    popen: subprocess.Popen
    stdout_path: Path
    stderr_path: Path
    pidfile: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def stderr_tail(self, lines: int = 5) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def wait(self, timeout: float) -> int:
        """Wait for exit; on timeout kill it and raise :class:`AgentError`."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(grace=1.0)
            raise AgentError(f"{self.name} did not finish within {timeout:.0f} s and was killed") from None

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    @interrupts.uninterrupted
    def stop(self, grace: float = 3.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process group this process leads (it was started in its own session, so the group holds
        only it and its children, e.g. Kamailio's workers, which outlive a killed main process), wait ``grace``
        seconds, then SIGKILL the group; reap the process. A signal to sipqual meanwhile waits until this is done."""
        for s in (sig, signal.SIGKILL):
            if self.popen.poll() is None or self._group_alive():
                try:
                    os.killpg(self.pid, s)
                except ProcessLookupError:
                    pass
                try:
                    self.popen.wait(timeout=grace if s == sig else 5)
                except subprocess.TimeoutExpired:
                    continue
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)
        return self.popen.returncode


#: environment for sipqual's own helper processes (``python -m sipqual.tlsedge`` / ``sipqual.msfront``): they need
#: none of the case API, whose imports (pytest, jsonschema) would add a third of a second to every start
LEAN_ENV = {"SIPQUAL_LEAN": "1"}


@dataclass
class Supervisor:
    """Starts processes, remembers them, and stops them all (newest first)."""

    state_dir: Path
    procs: list[Proc] = field(default_factory=list)

    @interrupts.uninterrupted  # started and recorded, or neither: an interrupt waits until the PID is on file
    def start(self, name: str, argv: list[str], *, cwd: Path | None = None, log_dir: Path | None = None,
              env: dict | None = None, netns: str | None = None) -> Proc:
        """Start ``argv`` (inside network namespace ``netns`` when given) with stdout/stderr to files."""
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        log_dir = log_dir or cwd or self.state_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        out = log_dir / f"{name}.stdout"
        err = log_dir / f"{name}.stderr"
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        try:
            popen = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out.open("wb"),
                                     stderr=err.open("wb"), env=full_env, start_new_session=True)
        except FileNotFoundError:
            raise ToolMissing(f"cannot start {name}: '{argv[0]}' not found") from None
        piddir = self.state_dir / "pids"
        piddir.mkdir(parents=True, exist_ok=True)
        pidfile = piddir / f"{name}-{popen.pid}.json"
        pidfile.write_text(json.dumps({"pid": popen.pid, "argv": argv}))
        proc = Proc(name, argv, popen, out, err, pidfile)
        self.procs.append(proc)
        return proc

    @interrupts.uninterrupted
    def stop_all(self, grace: float = 3.0) -> None:
        """Stop every recorded process, newest first, in parallel for speed (never cut short by a signal)."""
        live = [p for p in reversed(self.procs) if p.alive()]
        for p in live:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for p in live:
            p.stop(grace=max(0.05, deadline - time.monotonic()))
        for p in self.procs:
            p.stop(grace=0.1)
        self.procs.clear()


def kill_recorded(state_dir: Path) -> list[int]:
    """Kill processes recorded by a crashed run in ``state_dir/pids`` whose command line still matches."""
    killed = []
    piddir = state_dir / "pids"
    if not piddir.is_dir():
        return killed
    for f in sorted(piddir.glob("*.json")):
        try:
            rec = json.loads(f.read_text())
        except (OSError, ValueError):
            f.unlink(missing_ok=True)
            continue
        pid, argv = rec.get("pid"), rec.get("argv") or []
        current = _cmdline(pid) if isinstance(pid, int) else None
        # `ip netns exec ns prog` execs prog: the running command line is argv without the prefix
        expected = argv[4:] if argv[:3] == ["ip", "netns", "exec"] else argv
        if current and pid_alive(pid) and current[: len(expected)] == expected[: len(current)]:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(pid, sig)  # its own session: the group is it and its children
                except ProcessLookupError:
                    break
                end = time.monotonic() + 2
                while time.monotonic() < end and pid_alive(pid):
                    time.sleep(0.02)
                if not pid_alive(pid):
                    break
            killed.append(pid)
        f.unlink(missing_ok=True)
    return killed


def run(argv: list[str], *, netns: str | None = None, timeout: float = 30, check: bool = True,
        input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a short command to completion (bounded by ``timeout``); one-line error on failure. In its own session:
    a terminal's Ctrl-C reaches sipqual, never an ``ip netns del`` halfway through the clean-up."""
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    try:
        cp = subprocess.run(argv, capture_output=True, timeout=timeout, input=input, start_new_session=True)
    except FileNotFoundError:
        raise ToolMissing(f"'{argv[0]}' is not installed") from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"command timed out after {timeout:.0f} s: {' '.join(argv[:6])}") from None
    if check and cp.returncode != 0:
        last = (cp.stderr or cp.stdout).decode(errors="replace").strip().splitlines()
        raise AgentError(f"command failed ({cp.returncode}): {' '.join(argv[:8])}: {last[-1] if last else ''}")
    return cp
