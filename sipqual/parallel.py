"""Parallel labs with pytest-xdist (``sipqual qualify --jobs N``, ``pytest suites -n N --dut ...``).

- The controller (the process the user started) owns the run directory: it passes it to every worker
  (``workerinput``), collects every worker's case results and writes ONE results.json, junit.xml and report.
- Each worker runs its own lab (own random tag, namespaces, DUT, Mediation front and PKI under ``lab/<worker>/``);
  the namespaces let the same addresses and ports coexist.
- A case's result travels to the controller on its test report (attribute ``sipqual_result``, serialised by xdist
  with the report); a worker also writes ``workers/<id>.json`` when it finishes: the cases it knows (also those it
  never reached), the case an interrupt cut short, and its lab (tag, topology, timings). The controller merges them
  and removes the files.
- Scheduling keeps a worker on one transport as long as possible (:class:`TransportScheduling`): cases go out in
  chunks of one transport, in collection order (pytest groups the cases by transport), so a worker restarts its
  DUT at most once per transport, as a serial run does.
- Long cases first: each worker moves the cases declared ``@case(..., long=True)`` to the front of their transport's
  run (:class:`LongFirst`; every worker sorts the same way, so their collections stay identical), and the first
  chunk of every transport goes out before any second chunk (:func:`unit_rank`): the 100-second session-timer calls
  start at once on every lab rather than last, when the other labs would have nothing left to do; after its
  first unit a worker keeps to its transport while units of it are left (:func:`next_unit`).
- Interrupts: the controller forwards its first SIGINT/SIGTERM to the workers (:func:`forward_signal`), each
  worker tears its lab down and writes its file; a worker that could not finish is caught by the stale-lab
  clean-up the controller runs at the end (its owner PID is dead by then).
- External gear (``kind: external``) never runs in parallel: one device, fixed ports (:func:`force_serial`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict
from pathlib import Path

import pytest

WORKERS_DIR = "workers"
_TRANSPORT = re.compile(r"\[(?:[^\]]*-)?(tcp|tls)(?:-[^\]]*)?\]$")


def is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def worker_id(config) -> str | None:
    return config.workerinput.get("workerid") if is_worker(config) else None


def is_controller(config) -> bool:
    """This process distributes cases to xdist workers (and runs none itself)."""
    return not is_worker(config) and getattr(config.option, "dist", "no") != "no" and bool(
        getattr(config.option, "tx", None))


def force_serial(config) -> bool:
    """Switch xdist off for this run (called before xdist's own pytest_configure). True when it was on."""
    if getattr(config.option, "dist", "no") == "no" or not getattr(config.option, "tx", None):
        return False
    config.option.dist, config.option.tx, config.option.numprocesses = "no", [], 0
    return True


def default_jobs() -> int:
    """``sipqual qualify --jobs`` default: one lab per core and one more, at most 4 (each lab is a DUT, agents and
    captures). The labs wait on protocol timers much of the time (session intervals, no-answer and 64*T1 timeouts):
    on a 2-core machine three labs ran the reference qualification in 7:28 of pytest where two were heading past
    10 minutes, with the CPU still not saturated."""
    return max(1, min(4, (os.cpu_count() or 1) + 1))


# ---- controller ---------------------------------------------------------------------------------------------------
def configure_node(node, state) -> None:
    """What a worker needs from the controller: the run directory, the run's start, where allure writes."""
    node.workerinput["sipqual_run_dir"] = str(state.run_dir)
    node.workerinput["sipqual_started"] = state.started
    node.workerinput["sipqual_allure_dir"] = getattr(node.config.option, "allure_report_dir", None)
    try:
        pid = node.gateway._rinfo().pid  # cached by xdist before this hook (WorkerController.setup)
    except Exception:  # noqa: BLE001 - without the PID the worker still gets the terminal's Ctrl-C
        pid = None
    if pid:
        state.worker_pids.add(int(pid))


def forward_signal(pids, signum: int) -> None:
    """Send the controller's first SIGINT/SIGTERM on to its workers (children of this process only): each stops
    its case, tears down its lab and writes its results."""
    for pid in sorted(pids):
        try:
            if _ppid(pid) == os.getpid():
                os.kill(pid, signum)
        except OSError:
            continue


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def merge_workers(state, make_result) -> dict:
    """Fold the workers' files into the controller's state: cases (a worker's own final word wins over what its
    reports said), the first setup error, and each worker's lab. Returns the run's lab record for results.json."""
    labs = []
    folder = state.run_dir / WORKERS_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for nodeid, known in doc.get("known", {}).items():
            state.known.setdefault(nodeid, known)
        for r in doc.get("results", []):
            state.results[r["nodeid"]] = make_result(r)
        state.setup_error = state.setup_error or doc.get("setup_error")
        if doc.get("lab"):
            labs.append({"worker": doc.get("worker"), **doc["lab"]})
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        path.unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    if not labs:
        return {}
    first = labs[0]
    # the first lab stands for the run (its topology: every worker's has the same addresses and ports); every
    # worker's tag and timings are kept
    return {"tag": first["tag"], "kind": first["kind"], "topology": first["topology"],
            "timings_s": first["timings_s"],
            "workers": [{"worker": w["worker"], "tag": w["tag"], "timings_s": w["timings_s"]} for w in labs]}


# ---- worker -------------------------------------------------------------------------------------------------------
def write_worker_file(state, config) -> None:
    """The worker's record for the controller (see the module docstring)."""
    lab = {}
    if state.lab is not None:
        lab = {"tag": state.lab.tag, "kind": state.profile.kind, "topology": state.lab.describe(),
               "timings_s": {k: round(v, 3) for k, v in state.lab.timings.items()}}
    doc = {"worker": worker_id(config), "pid": os.getpid(), "lab": lab, "setup_error": state.setup_error,
           "known": state.known, "results": [asdict(r) for r in state.results.values()]}
    folder = state.run_dir / WORKERS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{worker_id(config)}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


# ---- scheduling ---------------------------------------------------------------------------------------------------
def transport_of(nodeid: str) -> str:
    m = _TRANSPORT.search(nodeid)
    return m.group(1) if m else ""


def scopes(collection: list[str], workers: int) -> dict[str, str]:
    """nodeid -> work unit: runs of one transport's cases in collection order, about two units per worker and
    transport (small enough to even out the end of a run, large enough to keep the DUT on one transport)."""
    by_transport: dict[str, list[str]] = {}
    for nodeid in collection:
        by_transport.setdefault(transport_of(nodeid), []).append(nodeid)
    out = {}
    for t, ids in by_transport.items():
        size = max(1, -(-len(ids) // (2 * max(1, workers))))
        for i, nodeid in enumerate(ids):
            out[nodeid] = f"{t or 'none'}-{i // size:03d}"
    return out


def unit_rank(scope: str) -> tuple:
    """Hand-out order of the work units of :func:`scopes` ("tcp-000"): every transport's first unit (where
    :class:`LongFirst` put the long cases), then every second unit, and so on."""
    transport, _, index = scope.rpartition("-")
    return (int(index), transport) if index.isdigit() else (1 << 30, scope)


def next_unit(pending: list[str], transport: str | None) -> str:
    """The unit to give a worker whose last unit was of ``transport`` (None: its first): the lowest-ranked unit of
    that transport if one is left (no DUT restart), else the lowest-ranked of all."""
    same = [u for u in pending if transport is not None and u.rpartition("-")[0] == transport]
    return min(same or pending, key=unit_rank)


class LongFirst:
    """Worker-side plugin: within each transport's run of the collection, the ``long`` cases first (stable).
    Registered on xdist workers of a qualification run; runs after pytest has grouped the cases by transport."""

    @staticmethod
    def key(item) -> bool:
        from .case import case_info

        info = case_info(item)
        return not (info and info.long)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items) -> None:
        runs: list[list] = []
        for item in items:
            t = transport_of(item.nodeid)
            if runs and transport_of(runs[-1][0].nodeid) == t:
                runs[-1].append(item)
            else:
                runs.append([item])
        items[:] = [item for run in runs for item in sorted(run, key=self.key)]


def make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class TransportScheduling(LoadScopeScheduling):
        """loadscope with work units that are runs of one transport (:func:`scopes`)."""

        def __init__(self, config, log=None):
            super().__init__(config, log)
            self._scopes: dict[str, str] = {}
            self._transport: dict = {}     # node -> the transport of the last unit it was given

        def schedule(self) -> None:
            if self.collection is None and self.collection_is_completed and self.registered_collections:
                first = next(iter(self.registered_collections.values()))
                self._scopes = scopes(list(first), len(self.nodes))
            super().schedule()

        def _split_scope(self, nodeid: str) -> str:
            return self._scopes.get(nodeid) or transport_of(nodeid) or nodeid

        def _assign_work_unit(self, node) -> None:
            if self.workqueue:   # xdist orders units by size; we hand them out by next_unit
                chosen = next_unit(list(self.workqueue), self._transport.get(node))
                self.workqueue.move_to_end(chosen, last=False)
                self._transport[node] = chosen.rpartition("-")[0]
            super()._assign_work_unit(node)

    return TransportScheduling(config, log)

