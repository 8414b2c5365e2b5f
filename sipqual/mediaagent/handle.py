"""Starting, updating and stopping a media agent from a case (or a test): the parent side.

    agent = MediaAgent.start(sup, workdir, AgentConfig([stream]), netns=topo.ms.netns)
    agent.update("audio", peer="192.0.2.7", peer_port=40000)        # a re-INVITE moved the remote media
    report = agent.stop()                                            # SIGTERM, bounded wait, report.json

The agent is a process like SIPp (:class:`sipqual.procs.Supervisor`, recorded and killed by PID). An agent that
does not come up, does not take an update, or does not stop and report in time is killed and raises
:class:`~sipqual.errors.AgentError` (the case is ERROR, never blamed on the DUT)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from ..errors import AgentError
from ..procs import LEAN_ENV, Proc, Supervisor
from .config import AgentConfig

START_TIMEOUT = 10.0
UPDATE_TIMEOUT = 2.0
STOP_TIMEOUT = 5.0
POLL = 0.01


def _wait_for(cond, timeout: float, alive) -> bool:
    deadline = time.monotonic() + timeout
    delay = POLL
    while time.monotonic() < deadline:
        if cond():
            return True
        if not alive():
            return cond()
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return cond()


class MediaAgent:
    def __init__(self, name: str, proc: Proc, workdir: Path, config: AgentConfig):
        self.name, self.proc, self.workdir, self.config = name, proc, workdir, config
        self.ports: dict[str, tuple[str, int]] = {}
        self.seq = 0
        self.report: dict | None = None

    @classmethod
    def start(cls, sup: Supervisor, workdir: Path, config: AgentConfig, *, name: str = "media",
              netns: str | None = None) -> "MediaAgent":
        workdir.mkdir(parents=True, exist_ok=True)
        for stale in ("ready.json", "report.json", "control.json", "control.ack"):
            (workdir / stale).unlink(missing_ok=True)
        config.write(workdir / "config.json")
        argv = [sys.executable, "-m", "sipqual.mediaagent", str(workdir)]
        env = {**LEAN_ENV, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
                                                                      os.environ.get("PYTHONPATH", "")) if p)}
        proc = sup.start(f"mediaagent-{name}", argv, cwd=workdir, env=env, netns=netns)
        agent = cls(name, proc, workdir, config)
        ready = workdir / "ready.json"
        if not _wait_for(ready.exists, START_TIMEOUT, proc.alive):
            proc.stop(grace=1.0)
            raise AgentError(f"media agent {name} did not come up within {START_TIMEOUT:.0f} s: "
                             f"{proc.stderr_tail() or 'no error output'}")
        agent.ports = {k: (v[0], v[1]) for k, v in json.loads(ready.read_text())["streams"].items()}
        return agent

    def port(self, stream: str | None = None) -> int:
        return self.ports[stream or self.config.streams[0].name][1]

    def update(self, stream: str | None = None, **changes) -> None:
        """Change a running stream (see :data:`sipqual.mediaagent.config.UPDATABLE`); waits for the agent's ack."""
        self.seq += 1
        name = stream or self.config.streams[0].name
        tmp = self.workdir / "control.json.tmp"
        tmp.write_text(json.dumps({"seq": self.seq, "updates": {name: changes}}))
        os.replace(tmp, self.workdir / "control.json")
        ack = self.workdir / "control.ack"

        def acked() -> bool:
            try:
                return json.loads(ack.read_text())["seq"] >= self.seq
            except (OSError, ValueError, KeyError):
                return False
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass
        if not _wait_for(acked, UPDATE_TIMEOUT, self.proc.alive):
            self.kill()
            raise AgentError(f"media agent {self.name} did not take update {self.seq} within {UPDATE_TIMEOUT} s")
        errors = json.loads(ack.read_text()).get("errors") or []
        if errors:
            raise AgentError(f"media agent {self.name} refused an update: {errors[-1]}")

    def follow(self, remote_media, stream: str | None = None) -> dict:
        """Point the stream at the peer's SDP media section (:func:`~sipqual.mediaagent.config.peer_changes`)."""
        from .config import peer_changes
        name = stream or self.config.streams[0].name
        cfg = next(c for c in self.config.streams if c.name == name)
        changes = peer_changes(cfg, remote_media)
        self.update(name, **changes)
        cfg.update(changes)
        return changes

    def stop(self, timeout: float = STOP_TIMEOUT) -> dict:
        """SIGTERM, wait (bounded) for the report; the report as a dict (also in ``workdir/report.json``)."""
        if self.report is not None:
            return self.report
        path = self.workdir / "report.json"
        if self.proc.alive():
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except AgentError:
            raise AgentError(f"media agent {self.name} did not stop within {timeout:.0f} s and was killed") from None
        if not path.exists():
            raise AgentError(f"media agent {self.name} exited ({self.proc.returncode}) without a report: "
                             f"{self.proc.stderr_tail() or 'no error output'}")
        self.report = json.loads(path.read_text())
        return self.report

    def kill(self) -> None:
        self.proc.stop(grace=0.5)
