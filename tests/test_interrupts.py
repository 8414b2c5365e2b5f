"""Run life cycle without a lab: how signals are handled (sipqual.interrupts), who holds a port (netns.port_holder,
wait_listening's owner check), where `latest` points (results.point_latest), and the exit status a nightly job gates
on (plugin.exit_status). The real-lab proofs are in tests/test_lifecycle.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from sipqual import interrupts, netns
from sipqual.errors import LabError
from sipqual.plugin import exit_status
from sipqual.procs import Supervisor
from sipqual.results import CaseResult, new_run_dir, point_latest


@pytest.fixture
def handlers():
    interrupts.install()
    try:
        yield
    finally:
        interrupts.uninstall()


def _signal(sig=signal.SIGTERM):
    os.kill(os.getpid(), sig)  # delivered to this (main) thread before os.kill returns to Python code


def test_sigterm_takes_the_ctrl_c_path(handlers):
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        _signal(signal.SIGTERM)
    assert interrupts.interrupted() == "SIGTERM"


def test_a_signal_during_cleanup_waits_until_the_cleanup_is_done(handlers):
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.cleanup():
            _signal(signal.SIGINT)
            done.append("the rest of the clean-up ran")
    assert done and interrupts.interrupted() == "SIGINT"


def test_second_and_third_signals_are_noted_never_obeyed(capfd):
    interrupts.install()  # here, so that the note goes to the stderr capfd captures
    try:
        with pytest.raises(KeyboardInterrupt):
            _signal(signal.SIGINT)
        _signal(signal.SIGINT)     # would abort the teardown before: now only noted
        _signal(signal.SIGTERM)
        interrupts.checkpoint()    # nothing left to raise
        assert interrupts.signals_received() == ["SIGINT", "SIGINT", "SIGTERM"]
    finally:
        interrupts.uninstall()
    assert capfd.readouterr().err.count("noted; cleaning up first") == 2


def test_deferred_signal_is_raised_at_the_next_checkpoint(handlers):
    with interrupts.cleanup(reraise=False):
        _signal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        interrupts.checkpoint()


def test_a_signal_while_held_is_raised_once_released(handlers):
    """`sipqual qualify` holds signals until the plugin has its run directory and case list."""
    interrupts.hold()
    _signal(signal.SIGINT)
    interrupts.checkpoint()    # still held: nothing raised
    interrupts.release()
    with pytest.raises(KeyboardInterrupt):
        interrupts.checkpoint()


def test_a_finishing_run_never_raises(handlers):
    with interrupts.finishing():
        _signal(signal.SIGTERM)
        _signal(signal.SIGINT)
        interrupts.checkpoint()
    assert interrupts.interrupted() == "SIGTERM"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SQUAT = ("import socket,sys,time\ns=socket.socket()\ns.bind(('0.0.0.0',int(sys.argv[1])))\ns.listen()\n"
         "print('listening',flush=True)\ntime.sleep(60)\n")


@pytest.fixture
def squatter():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SQUAT, str(port)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"listening\n"
        yield port, proc.pid
    finally:
        proc.kill()  # the process this test started, by its PID
        proc.wait()


def test_port_holder_names_the_process(squatter):
    port, pid = squatter
    holder = netns.port_holder(None, "tcp", "127.0.0.1", port)
    assert holder is not None and f"pid {pid} (" in holder
    assert netns.port_holder(None, "tcp", "127.0.0.1", _free_port()) is None


def test_a_port_held_by_someone_else_is_an_error_naming_port_and_holder(squatter, tmp_path):
    """Before: any socket on the port counted as our agent listening (a stranger's socket read as "ready")."""
    port, pid = squatter
    sup = Supervisor(tmp_path)
    ours = sup.start("ours", [sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(LabError) as e:
            netns.wait_listening(None, "tcp", "127.0.0.1", port, timeout=5, what="agent", owner=ours)
        assert f"port tcp 127.0.0.1:{port} is already in use by pid {pid} (" in str(e.value)
    finally:
        sup.stop_all()


def test_our_own_socket_is_ready(tmp_path):
    port = _free_port()
    sup = Supervisor(tmp_path)
    ours = sup.start("ours", [sys.executable, "-c", SQUAT, str(port)])
    try:
        assert netns.wait_listening(None, "tcp", "127.0.0.1", port, timeout=10, what="agent", owner=ours) >= 0
        assert netns.port_holder(None, "tcp", "127.0.0.1", port, owner=ours) is None
    finally:
        sup.stop_all()


def test_latest_switches_only_when_a_run_ends(tmp_path):
    a, b = new_run_dir(tmp_path), new_run_dir(tmp_path)
    assert a != b and not (tmp_path / "latest").exists()   # a run in progress is never "latest"
    point_latest(b)
    point_latest(a)
    assert (tmp_path / "latest").resolve() == a.resolve()
    assert not list(tmp_path.glob(".latest-*"))            # the temporary link went through os.replace


def _case(verdict, reason="r"):
    return CaseResult("TC-OPT-01", "t", [], "tcp", verdict, reason)


@pytest.mark.parametrize("verdicts, status, signal_name, expected", [
    (["PASS", "NA", "NOT_RUN"], 0, None, 0),
    (["PASS", "FAIL"], 1, None, 1),
    (["FAIL", "ERROR"], 1, None, 2),
    (["PASS"], 0, "SIGTERM", 130),
    (["PASS"], 2, None, 2),                  # pytest's own collection error
    ([], 5, None, 2),                        # nothing selected
])
def test_exit_status(verdicts, status, signal_name, expected):
    cases = [_case(v) for v in verdicts]
    assert exit_status(cases, status, signal_name) == expected
    assert exit_status([_case("NOT_RUN", "deselected")], 5, None) == 2
