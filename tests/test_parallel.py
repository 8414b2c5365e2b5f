"""Parallel runs without a lab: how cases are grouped for the workers, how the controller merges the workers' files,
and the live progress lines (sipqual.parallel, sipqual.progress). The real parallel runs are in test_lifecycle.py."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from types import SimpleNamespace

from sipqual import parallel
from sipqual.progress import Progress, clock, plain_wanted
from sipqual.results import CaseResult


def _ids(n_tcp: int, n_tls: int) -> list[str]:
    return ([f"suites/test_a.py::test_{i}[tcp]" for i in range(n_tcp)] +
            [f"suites/test_a.py::test_{i}[tls]" for i in range(n_tls)])


def test_work_units_are_runs_of_one_transport_in_collection_order():
    ids = _ids(20, 24)
    scopes = parallel.scopes(ids, workers=2)
    units = list(dict.fromkeys(scopes[i] for i in ids))          # in the order the scheduler hands them out
    assert [u.split("-")[0] for u in units] == ["tcp"] * 4 + ["tls"] * 4   # about two units per worker and transport
    for u in units:                                              # one transport per unit, contiguous
        members = [i for i in ids if scopes[i] == u]
        assert {parallel.transport_of(i) for i in members} == {u.split("-")[0]}
        assert ids.index(members[-1]) - ids.index(members[0]) == len(members) - 1
    # a worker that takes units in this order restarts its DUT at most once (TCP, then TLS), as a serial run does
    assert parallel.scopes(ids[:2], workers=2) == {ids[0]: "tcp-000", ids[1]: "tcp-001"}


def test_transport_is_read_from_the_parameter_id():
    assert parallel.transport_of("suites/test_x.py::test_y[tls]") == "tls"
    assert parallel.transport_of("suites/test_x.py::test_y[tcp-quick]") == "tcp"
    assert parallel.transport_of("suites/test_x.py::test_y") == ""


def _result(cid, transport, verdict, reason="r"):
    return CaseResult(cid, "t", [], transport, verdict, reason, nodeid=f"suites/x.py::{cid}[{transport}]")


def test_the_controller_merges_the_workers_files_and_removes_them(tmp_path):
    folder = tmp_path / parallel.WORKERS_DIR
    folder.mkdir()
    known = {r.nodeid: asdict(r) for r in (_result("TC-A", "tcp", "NOT_RUN", "never reached"),
                                           _result("TC-B", "tls", "NOT_RUN", "deselected"))}
    lab = {"tag": "abc123", "kind": "managed", "topology": {"x": 1}, "timings_s": {"up_s": 1.0}}
    (folder / "gw0.json").write_text(json.dumps({
        "worker": "gw0", "lab": lab, "setup_error": None, "known": known,
        "results": [asdict(_result("TC-A", "tcp", "NOT_RUN", "interrupted (SIGINT) while the case ran"))]}))
    (folder / "gw1.json").write_text(json.dumps({
        "worker": "gw1", "lab": {**lab, "tag": "def456"}, "setup_error": "a port is taken", "known": known,
        "results": []}))
    state = SimpleNamespace(run_dir=tmp_path, results={"suites/x.py::TC-A[tcp]": _result("TC-A", "tcp", "NOT_RUN")},
                            known={}, setup_error=None)
    info = parallel.merge_workers(state, lambda r: CaseResult(**r))
    assert state.results["suites/x.py::TC-A[tcp]"].reason.startswith("interrupted")   # the worker's final word
    assert set(state.known) == set(known) and state.setup_error == "a port is taken"
    assert info["tag"] == "abc123" and [w["tag"] for w in info["workers"]] == ["abc123", "def456"]
    assert not folder.exists()


def test_signals_are_forwarded_to_our_own_children_only(monkeypatch):
    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    monkeypatch.setattr(parallel, "_ppid", lambda pid: os.getpid() if pid == 101 else 1)
    parallel.forward_signal({101, 202}, 15)
    assert sent == [(101, 15)]


def test_progress_is_a_plain_line_per_case_with_the_time_left():
    now = [100.0]
    out = []
    p = Progress(out.append, plain=True, total=4, now=lambda: now[0])
    p.case_started("suites/x.py::test_a[tcp]")          # plain: no status line
    now[0] += 10
    p.case_done(_result("TC-OPT-01", "tcp", "PASS"))
    now[0] += 10
    p.case_done(_result("TC-BAS-07", "tcp", "FAIL", "FO-01: expected 486 to the caller"))
    assert out[0] == "[1/4] TC-OPT-01 tcp  PASS      0.0 s | PASS 1 | 0:10 elapsed, ~0:30 left\n"
    assert out[1].startswith("[2/4] TC-BAS-07 tcp  FAIL      0.0 s | PASS 1 FAIL 1 | 0:20 elapsed, ~0:20 left\n")
    assert "FO-01: expected 486" in out[1] and not any("\x1b" in line for line in out)


def test_progress_on_a_terminal_rewrites_a_status_line():
    out = []
    p = Progress(out.append, plain=False, total=2, now=lambda: 0.0)
    p.case_started("suites/x.py::test_a[tls]")
    p.case_done(_result("TC-OPT-01", "tls", "PASS"))
    assert out[0].startswith("\r\x1b[K  running test_a[tls]") and out[1].startswith("\r\x1b[K[1/2] TC-OPT-01 tls")


def test_plain_when_ci_or_no_terminal():
    tty = SimpleNamespace(isatty=lambda: True)
    assert plain_wanted(tty, {"CI": "true"}) and not plain_wanted(tty, {})
    assert plain_wanted(SimpleNamespace(isatty=lambda: False), {})
    assert clock(3725) == "1:02:05" and clock(65) == "1:05"


def test_external_gear_never_runs_in_parallel(tmp_path):
    """One device on fixed ports: `pytest suites -n 2` on a kind: external profile runs serially and says so in one
    line (nothing is selected, so no lab or gear is needed)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cp = subprocess.run([sys.executable, "-m", "pytest", str(root / "suites"), "-p", "no:cacheprovider", "-q", "-n", "2",
                         "--dut", str(root / "lab/duts/external-template.yaml"), "-k", "TC-OPT-01 and nothing",
                         "--sipqual-reports", str(tmp_path)], cwd=root, capture_output=True, text=True, timeout=120)
    notes = [ln for ln in cp.stderr.splitlines() if "runs one case at a time" in ln]
    assert len(notes) == 1 and "kind: external" in notes[0], cp.stdout[-2000:] + cp.stderr[-2000:]
    out = cp.stdout + cp.stderr    # (the run directory may sit under this test's own popen-gw0 temp folder)
    assert "bringing up nodes" not in out and "[gw0]" not in out and "workers [" not in out, out[-2000:]
    assert json.loads(next(tmp_path.glob("2*/results.json")).read_text())["cases"]


def test_every_transports_first_unit_goes_out_first_and_a_worker_keeps_its_transport():
    pending = ["tcp-000", "tcp-001", "tcp-002", "tls-000", "tls-001"]
    assert sorted(pending, key=parallel.unit_rank)[:2] == ["tcp-000", "tls-000"]
    first = parallel.next_unit(pending, None)                     # worker A's first unit: TCP's long cases
    pending.remove(first)
    second = parallel.next_unit(pending, None)                    # worker B's first: TLS's long cases, not tcp-001
    assert (first, second) == ("tcp-000", "tls-000")
    pending.remove(second)
    assert parallel.next_unit(pending, "tls") == "tls-001"        # B stays on TLS: no DUT restart
    assert parallel.next_unit(["tcp-002"], "tls") == "tcp-002"    # nothing of its transport left: it switches


def test_long_cases_move_to_the_front_of_their_transport_run_only():
    from sipqual.case import CaseInfo

    def item(name, transport, long=False):
        info = CaseInfo(name, "t", ("OPT-01",), "M", long=long)
        mark = SimpleNamespace(args=[info])
        return SimpleNamespace(nodeid=f"suites/t.py::{name}[{transport}]", get_closest_marker=lambda _n: mark)

    items = [item("a", "tcp"), item("slow", "tcp", True), item("b", "tcp"),
             item("a", "tls"), item("slow", "tls", True), item("b", "tls")]
    parallel.LongFirst().pytest_collection_modifyitems(items)
    assert [i.nodeid.split("::")[1] for i in items] == ["slow[tcp]", "a[tcp]", "b[tcp]",
                                                         "slow[tls]", "a[tls]", "b[tls]"]
