"""Runs that are interrupted, misconfigured or parallel (issue 10, items 11-14), each a real `sipqual qualify` (or
`pytest suites`) process on one cheap case, checked with tests/test_lab.py's leftovers():

- SIGTERM, and Ctrl-C pressed two or three times, clean up exactly like one Ctrl-C, exit 130, and still write
  results.json (the case in progress NOT_RUN "interrupted" with its partial capture) and the report;
- exit status 0 / 1 / 2 a nightly job can gate on; a setup problem is one line, not a traceback;
- a port someone else holds is an ERROR naming the port and the holder, never a FAIL blaming the DUT;
- two runs sharing a reports root each render and print their own report.

Every run gets its own TMPDIR, so the Chromium profile directory (PDF rendering) is checked to be gone as well.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_lab import DUTS, ROOT, leftovers, own_states

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the namespace lab needs root")


def _tmpdir_of(pid: str) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((e[7:].decode(errors="replace") for e in env if e.startswith(b"TMPDIR=")), None)


def ours(items: list[str], tmp_path: Path) -> list[str]:
    """leftovers() narrowed to what this test's runs made, as other agents run labs on this machine at the same time:
    namespaces and state of the runs' own tags, processes carrying a TMPDIR under tmp_path (every process a run
    starts inherits it)."""
    tags = set(_TAGS)
    for res in tmp_path.rglob("results.json"):
        lab = json.loads(res.read_text()).get("lab", {})
        tags.update([lab.get("tag")] + [w.get("tag") for w in lab.get("workers", [])])   # parallel: every worker's
    tags.discard(None)
    keep = []
    for x in items:
        name = x.split(":", 1)[-1]
        if x.startswith("state:") or x.startswith("sq"):
            if any(name == t or name.startswith(f"sq{t}-") for t in tags):
                keep.append(x)
        elif str(tmp_path) in (_tmpdir_of(name) or ""):
            keep.append(x)
    return keep


_TAGS: set[str] = set()   # tags of the labs this test's runs recorded (own_state), also when they wrote no results


@pytest.fixture(autouse=True)
def clean_machine(tmp_path):
    _TAGS.clear()
    yield
    assert ours(leftovers(), tmp_path) == [], "the run left something behind"


def start(tmp_path: Path, profile: str | Path, select: str, *, entry: str = "qualify", reports: Path | None = None,
          tmp: Path | None = None, extra: tuple = ()) -> subprocess.Popen:
    """``sipqual qualify`` (README command one) or plain ``pytest suites``, in its own session like a terminal job,
    with its own TMPDIR."""
    reports = reports or tmp_path / "reports"
    tmp = tmp or tmp_path / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    profile = profile if isinstance(profile, Path) else DUTS / profile
    if entry == "qualify":
        argv = [sys.executable, "-m", "sipqual.cli", "qualify", "--dut", str(profile), "--reports", str(reports)]
    else:
        argv = [sys.executable, "-m", "pytest", str(ROOT / "suites"), "-p", "no:cacheprovider", "-q",
                "--dut", str(profile), "--sipqual-reports", str(reports)]
    return subprocess.Popen(argv + ["-k", select, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, "TMPDIR": str(tmp)})


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def own_state(proc: subprocess.Popen, timeout: float = 60) -> Path:
    """The run's state directory (/run/sipqual/<tag>), recognised by its owner PID (the run, or one of its parallel
    workers): other runs may be going on."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for state in own_states(proc):
            _TAGS.add(state.name)
            return state
        assert proc.poll() is None, finish(proc)
        time.sleep(0.02)
    raise AssertionError("the run never recorded its lab")


def wait_for_agent(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> None:
    own_state(proc, timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = own_states(proc)                  # a parallel run: any of its workers' labs
        _TAGS.update(d.name for d in states)
        if any(next(d.glob(f"pids/{pattern}"), None) for d in states):
            return
        assert proc.poll() is None, finish(proc)
        time.sleep(0.02)
    raise AssertionError(f"{pattern} never appeared")


def own_run(out: str) -> Path:
    """The run directory from the report path the run printed last (never reports/latest)."""
    last = out.strip().splitlines()[-1]
    assert last.startswith("sipqual: report: /"), out[-2000:]
    return Path(last.split(": ", 2)[2]).parent


def nothing_of_chromium_left(tmp: Path) -> None:
    assert not list(tmp.glob("sipqual-chromium-*")), "the Chromium profile directory was left behind"
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert str(tmp).encode() not in cmdline.read_bytes(), f"a Chromium process is left: {cmdline}"
        except OSError:
            continue


def check_interrupted(tmp_path: Path, out: str, err: str, sig: str) -> None:
    run = own_run(out)
    doc = json.loads((run / "results.json").read_text())
    c = {(c["id"], c["transport"]): c for c in doc["cases"]}[("TC-TRN-01", "tcp")]
    assert c["verdict"] == "NOT_RUN" and c["reason"].startswith(f"interrupted ({sig}) while the case ran"), c
    cap = [e for e in c["evidence"] if e.endswith("capture.pcapng")]
    assert cap and (run / cap[0]).stat().st_size > 0, c["evidence"]   # the partial capture is kept
    assert (run / "report.html").is_file() and "TC-TRN-01" in (run / "report.html").read_text()
    assert (tmp_path / "reports" / "latest").resolve() == run.resolve()
    nothing_of_chromium_left(tmp_path / "tmp")


def test_sigterm_mid_case_cleans_up_like_ctrl_c_and_writes_results_and_report(tmp_path):
    """Before: SIGTERM killed the run where it stood (9 of 9 runs left 10-14 processes, namespaces and state)."""
    proc = start(tmp_path, "reference-sbc.yaml", "TC-TRN-01 and tcp")
    wait_for_agent(proc, "sipp-ms-caller-*.json")
    proc.send_signal(signal.SIGTERM)        # what timeout(1), CI runners and systemd send, to the process only
    out, err = finish(proc)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    check_interrupted(tmp_path, out, err, "SIGTERM")


def test_ctrl_c_pressed_three_times_still_cleans_up(tmp_path):
    """Before: the second Ctrl-C aborted the teardown (3 of 3 runs left the lab behind). Sent to the process group,
    as a terminal does, so also every short command sipqual runs then (ip netns del ...) gets it."""
    proc = start(tmp_path, "reference-sbc.yaml", "TC-TRN-01 and tcp")
    wait_for_agent(proc, "sipp-ms-caller-*.json")
    for pause in (0.1, 0.3, 0):
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(pause)
    out, err = finish(proc)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert "SIGINT noted; cleaning up first" in err
    check_interrupted(tmp_path, out, err, "SIGINT")


@pytest.mark.parametrize("entry, profile, select, code, verdict", [
    ("qualify", "reference-sbc.yaml", "TC-OPT-01 and tcp", 0, "PASS"),
    ("qualify", "faulty-busy-as-503.yaml", "TC-BAS-07 and tcp", 1, "FAIL"),
])
def test_exit_status_pass_and_fail(tmp_path, entry, profile, select, code, verdict):
    """Before: `sipqual qualify` exited 0 whether the DUT passed or failed (ERROR exits 2: the port tests below,
    through plain pytest, which exited 1 for an ERROR before)."""
    proc = start(tmp_path, profile, select, entry=entry)
    out, err = finish(proc)
    assert proc.returncode == code, out[-2000:] + err[-2000:]
    doc = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    assert [c["verdict"] for c in doc["cases"] if c["reason"] != "deselected"] == [verdict]


@pytest.mark.parametrize("entry", ["qualify", "pytest"])
def test_a_setup_problem_is_one_line_and_exit_2(tmp_path, entry):
    """External gear whose Mediation address is not on this machine: one line naming the key, no traceback."""
    proc = start(tmp_path, "external-template.yaml", "TC-OPT-01 and tcp", entry=entry)
    out, err = finish(proc)
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    lines = [ln for ln in (out + err).splitlines() if ln.startswith("sipqual: error:")]
    assert lines and all("pixit.mediation.address" in ln for ln in lines), out + err
    assert "Traceback" not in out + err and "raise UsageError" not in out + err and "\nE   " not in out
    doc = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    (case,) = [c for c in doc["cases"] if c["reason"] != "deselected"]
    assert case["verdict"] == "ERROR" and "pixit.mediation.address" in case["reason"]


SQUAT = ("import socket,sys,time\ns=socket.socket()\ns.bind(('0.0.0.0',int(sys.argv[1])))\ns.listen()\n"
         "print('listening',flush=True)\ntime.sleep(120)\n")


@pytest.mark.parametrize("side, port, select", [
    ("dut", 5066, "TC-OPT-01 and tcp"),     # the DUT's trunk port, taken before Kamailio starts
    ("ms", 5068, "TC-TRN-02 and tcp"),      # the Mediation port the IN call is delivered to
    ("ms", 5067, "TC-TRN-02 and tls"),      # the same over TLS: the TLS edge's port (it reports after 10 s)
])
def test_a_port_already_taken_is_an_error_naming_port_and_holder(tmp_path, side, port, select):
    """Before: the readiness probe took the stranger's socket for our agent (or the DUT died at start), and the
    case blamed the DUT. The run is paused (SIGSTOP) once its namespaces exist, a squatter takes the port, and the
    run continues."""
    proc = start(tmp_path, "reference-sbc.yaml", select, entry="pytest")
    squat = None
    try:
        tag = own_state(proc).name
        ns = f"sq{tag}-{side}"
        end = time.monotonic() + 30
        while ns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout:
            assert time.monotonic() < end and proc.poll() is None, "the namespace never appeared"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            squat = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SQUAT, str(port)],
                                     stdout=subprocess.PIPE)
            assert squat.stdout.readline() == b"listening\n"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        out, err = finish(proc)
    finally:
        if squat is not None:
            squat.kill()  # the process this test started, by its PID
            squat.wait()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    doc = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    (case,) = [c for c in doc["cases"] if c["reason"] != "deselected"]
    assert case["verdict"] == "ERROR", case
    assert f"port tcp 192.0.2.{1 if side == 'dut' else 10}:{port} is already in use by pid {squat.pid} (" \
        in case["reason"], case["reason"]


def test_two_runs_sharing_a_reports_root_each_render_their_own_report(tmp_path):
    """Before: `sipqual qualify` rendered whatever reports/latest pointed at when it finished, so of two runs
    started together one printed the other's report (or none). Nothing is selected, so no lab is needed; each run
    still writes results.json and its report."""
    reports = tmp_path / "reports"
    profiles = ("reference-sbc.yaml", "reference-sbc-topoh.yaml")
    procs = [start(tmp_path, p, "TC-OPT-01 and nothing", reports=reports, tmp=tmp_path / f"tmp{i}")
             for i, p in enumerate(profiles)]
    outs = [finish(p) for p in procs]
    runs = []
    for proc, (out, err), profile in zip(procs, outs, profiles):
        assert proc.returncode == 2, out[-2000:] + err[-2000:]     # nothing selected: a usage problem
        run = own_run(out)
        assert json.loads((run / "results.json").read_text())["dut"]["profile"] == str(DUTS / profile)
        assert (run / "report.html").is_file() and f"results: {run / 'results.json'}" in out
        runs.append(run)
    assert runs[0] != runs[1] and (reports / "latest").resolve() in {r.resolve() for r in runs}
    for i in range(2):
        nothing_of_chromium_left(tmp_path / f"tmp{i}")


# ---- parallel runs (sipqual.parallel): one lab per pytest-xdist worker, one results.json ----------------------------
def test_a_parallel_run_writes_one_results_file_from_every_workers_lab(tmp_path):
    """`pytest suites -n 2`: each worker runs its own lab (own tag, lab/<worker>/); the controller writes one
    results.json, junit.xml and report, every case's evidence is in place and the saved run replays to the same
    verdicts."""
    from sipqual.replay import reverify_run

    proc = start(tmp_path, "reference-sbc.yaml", "TC-OPT-01 or TC-TRN-01", entry="pytest", extra=("-n", "2"))
    out, err = finish(proc)
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    run = (tmp_path / "reports" / "latest").resolve()
    doc = json.loads((run / "results.json").read_text())
    ran = {(c["id"], c["transport"]): c for c in doc["cases"] if c["reason"] != "deselected"}
    assert {k: c["verdict"] for k, c in ran.items()} == {(i, t): "PASS" for i in ("TC-OPT-01", "TC-TRN-01")
                                                         for t in ("tcp", "tls")}
    workers = doc["lab"]["workers"]
    assert len(workers) == 2 and len({w["tag"] for w in workers}) == 2, workers   # two labs, side by side
    assert all(w["timings_s"]["up_s"] > 0 for w in workers) and doc["lab"]["timings_s"]["up_s"] > 0
    assert sorted(p.name for p in (run / "lab").iterdir()) == ["gw0", "gw1"] and not (run / "workers").exists()
    for c in ran.values():
        assert any(e.endswith("capture.pcapng") for e in c["evidence"]) and c["verification"], c
        assert all((run / e).exists() for e in c["evidence"])
    assert (run / "junit.xml").read_text().count("<testcase ") == 4
    again = [r for r in reverify_run(run) if r.recorded == "PASS"]
    assert len(again) == 4 and all(r.agrees for r in again), [r.line() for r in again]


def test_sigterm_stops_every_worker_of_a_parallel_run_and_writes_results(tmp_path):
    """`sipqual qualify --jobs 2`, two calls in progress, one in each worker's lab: SIGTERM to sipqual alone (as
    timeout(1) sends it) reaches the workers, both cases are NOT_RUN "interrupted" with their partial captures, the
    results and report are written, exit 130, and neither lab is left behind."""
    proc = start(tmp_path, "reference-sbc.yaml", "(TC-TRN-01 or TC-TRN-02) and tcp", extra=("--jobs", "2"))
    end = time.monotonic() + 90
    while True:   # both workers are in a call
        states = own_states(proc)
        _TAGS.update(d.name for d in states)
        busy = [d for d in states if next(d.glob("pids/sipp-*-caller-*.json"), None)]
        if len(busy) == 2:
            break
        assert time.monotonic() < end and proc.poll() is None, finish(proc)
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    run = own_run(out)
    doc = json.loads((run / "results.json").read_text())
    ran = {c["id"]: c for c in doc["cases"] if c["transport"] == "tcp" and c["id"] in ("TC-TRN-01", "TC-TRN-02")}
    for c in ran.values():
        assert c["verdict"] == "NOT_RUN" and c["reason"].startswith("interrupted (SIGTERM) while the case ran"), c
    assert (run / "report.html").is_file()
    nothing_of_chromium_left(tmp_path / "tmp")


def test_a_worker_killed_mid_case_leaves_no_lab_behind(tmp_path):
    """A worker of `pytest suites -n 2` dies (SIGKILL) in a call: pytest-xdist replaces it, its case is run again
    (PASS) or ERROR "crashed", never a silent PASS of the dead run; its lab (processes, namespaces, state), which it
    could not tear down itself, is gone when the run ends."""
    proc = start(tmp_path, "reference-sbc.yaml", "(TC-TRN-01 or TC-BAS-01) and tcp", entry="pytest", extra=("-n", "2"))
    end = time.monotonic() + 90
    while True:
        states = own_states(proc)
        _TAGS.update(d.name for d in states)
        busy = [d for d in states if next(d.glob("pids/sipp-*-caller-*.json"), None)]
        if busy:
            break
        assert time.monotonic() < end and proc.poll() is None, finish(proc)
        time.sleep(0.02)
    victim = json.loads((busy[0] / "owner.json").read_text())["pid"]
    os.kill(victim, signal.SIGKILL)   # a worker of the run this test started, by its PID
    out, err = finish(proc)
    doc = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    ran = [c for c in doc["cases"] if c["reason"] != "deselected"]
    assert len(ran) == 2 and all(c["verdict"] == "PASS" or c["verdict"] == "ERROR" and "crashed" in c["reason"]
                                 for c in ran), (ran, out[-2000:])
    assert not busy[0].exists(), "the dead worker's lab state is still there"
