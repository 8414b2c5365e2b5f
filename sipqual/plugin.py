"""The pytest plugin (registered through the ``pytest11`` entry point): options, the lab and ``sq`` fixtures,
applicability, verdicts, and the results written at the end of every qualification run.

Verdict rules (one place, here):
- PASS: the case body finished; every active check and every mandatory passive rule held on the capture.
- FAIL: a :class:`~sipqual.errors.CheckFailed` (the capture shows the DUT violating a requirement).
- NA: the DUT profile does not claim a feature the case needs.
- ERROR: anything that stopped us finding out: lab or tool failure, timeout, DUT died, bad profile, crash.
- NOT_RUN: selected out, or never reached (interrupted run); the case in progress when SIGINT/SIGTERM arrived is
  NOT_RUN "interrupted", with the partial capture it took kept as its evidence.

Exit status of a qualification run (``pytest suites --dut ...`` and ``sipqual qualify``; :func:`exit_status`):
0 every executed case PASS or NA; 1 a case FAILs; 2 a case is ERROR, or a usage/lab problem (bad profile, not root,
missing tool, non-local address, no case selected); 130 interrupted (SIGINT or SIGTERM; results are still written).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from . import __version__, durations, interrupts, parallel
from .case import case_info, implemented_case_ids
from .context import CaseContext
from .errors import CheckFailed, DutDied, SipqualError, UsageError
from .results import CaseResult, new_run_dir, now_iso, one_line, point_latest, write_results
from .verdict import Verdict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE = ROOT / "lab" / "duts" / "reference-sbc.yaml"
TRANSPORTS = ("tcp", "tls")


@dataclass
class RunState:
    run_dir: Path
    started: str
    profile: object = None
    profile_error: str | None = None
    results: dict = field(default_factory=dict)     # nodeid -> CaseResult
    infos: dict = field(default_factory=dict)       # nodeid -> (CaseInfo, transport)
    deselected: set = field(default_factory=set)
    lab: object = None
    current: str | None = None                      # nodeid of the case in progress
    called: set = field(default_factory=set)        # nodeids whose case body reported (PASS, FAIL or ERROR)
    ctxs: dict = field(default_factory=dict)        # nodeid -> CaseContext, until its evidence is recorded
    setup_error: str | None = None                  # the lab could not be set up (one line)
    worker: str | None = None                       # xdist worker id ("gw0") in a parallel run's worker
    worker_pids: set = field(default_factory=set)   # a parallel run's controller: its workers (sipqual.parallel)
    known: dict = field(default_factory=dict)       # controller: nodeid -> result if the case never reports
    crashed: dict = field(default_factory=dict)     # controller: nodeid -> xdist's "worker crashed" line
    progress: object = None                         # sipqual.progress.Progress on the controller


STATE = pytest.StashKey[RunState]()
_STATE_OF: dict = {}   # "state": the RunState of this process's run, for hooks that get no config (logreport)
CTX = pytest.StashKey[CaseContext]()


def pytest_addoption(parser):
    g = parser.getgroup("sipqual", "sipqual qualification")
    g.addoption("--dut", default=None, help="DUT profile (YAML); default: lab/duts/reference-sbc.yaml")
    g.addoption("--sipqual-reports", default=None, help="reports root; each run writes <root>/<timestamp>/")
    g.addoption("--transport", action="append", choices=TRANSPORTS, default=None, dest="sipqual_transport",
                help="run only this transport's cases (repeatable; default: every transport of pixit.transports)")
    g.addoption("--durations-profile", default=durations.DEFAULT, choices=durations.PROFILES,
                dest="sipqual_durations",
                help="quick (default: short calls and holds, minimum timers) or full (the catalogue's durations; "
                     "the only profile that can earn a listing mark)")
    g.addoption("--sipqual-destructive", action="store_true", default=False, dest="sipqual_destructive",
                help="run the destructive robustness cases (suite ROB: malformed and torture SIP) against real gear "
                     "too (the managed lab runs them anyway; pixit.destructive: true in the profile does the same)")
    g.addoption("--sipqual-progress", action="store_true", default=False, dest="sipqual_progress",
                help="a line per finished case (verdict, verdicts so far, elapsed and remaining time) instead of "
                     "pytest's dots; plain when not a terminal or CI=true (sipqual qualify turns it on)")


def _is_qualification_run(config) -> bool:
    if config.getoption("dut"):
        return True
    suites = (ROOT / "suites").resolve()
    for arg in config.args:
        p = Path(arg.split("::")[0]).resolve()
        if p == suites or suites in p.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "sipqual_case(info): a sipqual qualification case (use sipqual.case)")
    if not _is_qualification_run(config):
        return
    worker = getattr(config, "workerinput", None)
    if worker is not None and "sipqual_run_dir" not in worker:
        return  # a worker of a parallel run that is no qualification run
    from .profile import load_profile

    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else nullcontext():
        interrupts.install()  # SIGTERM takes Ctrl-C's path; clean-up is never cut short (sipqual.interrupts)
    if worker is not None:  # a parallel run's worker: the controller's run directory, its own lab (sipqual.parallel)
        state = RunState(run_dir=Path(worker["sipqual_run_dir"]), started=worker["sipqual_started"],
                         worker=worker["workerid"])
        if worker.get("sipqual_allure_dir") and hasattr(config.option, "allure_report_dir"):
            config.option.allure_report_dir = worker["sipqual_allure_dir"]
        config.pluginmanager.register(parallel.LongFirst(), "sipqual-long-first")
    else:
        root = Path(config.getoption("sipqual_reports") or (ROOT / "reports"))
        state = RunState(run_dir=new_run_dir(root), started=now_iso())
    try:
        state.profile = load_profile(config.getoption("dut") or DEFAULT_PROFILE)
    except UsageError as e:
        state.profile_error = str(e)  # every case becomes ERROR; the report is still written
    config.stash[STATE] = state
    _STATE_OF["state"] = state
    if worker is not None:
        return
    if state.profile is not None and not state.profile.managed and parallel.force_serial(config):
        print("sipqual: external gear (kind: external) runs one case at a time (one device on fixed ports): "
              "parallel jobs ignored", file=sys.stderr)
    if parallel.is_controller(config):
        interrupts.on_first_signal(lambda signum: parallel.forward_signal(state.worker_pids, signum))
    from .progress import Progress

    state.progress = Progress.for_config(config)
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(state.run_dir / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(state.run_dir / "allure-results")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist (controller): a worker gets the run directory and the run's start (sipqual.parallel)."""
    state = node.config.stash.get(STATE, None)
    if state is not None:
        parallel.configure_node(node, state)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """A parallel qualification run hands out runs of one transport's cases (sipqual.parallel.TransportScheduling),
    unless another --dist mode was asked for."""
    if config.stash.get(STATE, None) is not None and config.getvalue("dist") in ("load", "loadscope"):
        return parallel.make_scheduler(config, log)
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """xdist (controller): the case list exists (in the workers); an interrupt held since `sipqual qualify` started
    is raised now, as pytest_collection_finish does in a serial run."""
    state = node.config.stash.get(STATE, None)
    if state is None:
        return
    if state.progress is not None:
        state.progress.total = len(ids)
    interrupts.release()
    interrupts.checkpoint()


def run_dir(config) -> Path | None:
    """The run directory of this qualification run (None for other pytest runs): what ``sipqual qualify``
    renders, never found through ``reports/latest``."""
    state = config.stash.get(STATE, None)
    return state.run_dir if state is not None else None


def pytest_generate_tests(metafunc):
    info = case_info(metafunc.definition)
    if "transport" in metafunc.fixturenames and info:
        # session scope: pytest groups cases by transport, so a managed DUT restarts once per transport; a case
        # limited to some transports (@case transports=) has no instance on the others
        chosen = [t for t in TRANSPORTS if not info.transports or t in info.transports]
        metafunc.parametrize("transport", chosen, scope="session")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    for item in items:  # `-k TC-OPT-01` selects by case ID
        info = case_info(item)
        if info:
            item.extra_keyword_matches.add(info.id)
    state = config.stash.get(STATE, None)
    if state is None:
        return
    for item in items:
        info = case_info(item)
        if info:
            transport = item.callspec.params.get("transport") if hasattr(item, "callspec") else None
            state.infos[item.nodeid] = (info, transport)


def pytest_collection_finish(session):
    """From here an interrupt leaves a complete results.json (every case known): a signal held since
    ``sipqual qualify`` started (:func:`sipqual.interrupts.hold`) is raised now."""
    state = session.config.stash.get(STATE, None)
    if state is not None:
        if state.progress is not None and not parallel.is_controller(session.config):
            state.progress.total = len(session.items)
        interrupts.release()
        interrupts.checkpoint()


def pytest_deselected(items):
    for item in items:
        config = item.config
        state = config.stash.get(STATE, None)
        info = case_info(item)
        if state is not None and info:
            transport = item.callspec.params.get("transport") if hasattr(item, "callspec") else None
            state.infos[item.nodeid] = (info, transport)
            state.deselected.add(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Applicability before any fixture runs: an unclaimed feature is N/A, an unselected transport NOT_RUN."""
    state = item.config.stash.get(STATE, None)
    info = case_info(item)
    if state is None or info is None or state.profile is None:
        return
    profile = state.profile
    transport = item.callspec.params.get("transport") if hasattr(item, "callspec") else None
    for need in info.needs:
        if not profile.claims(need):
            pytest.skip(f"N/A: the DUT profile does not claim '{need}' (pics.{need})")
    if info.destructive and not (profile.destructive or item.config.getoption("sipqual_destructive")):
        pytest.skip("NOT_RUN: a destructive case (malformed/torture SIP); real gear opts in with pixit.destructive: "
                    "true or --sipqual-destructive")
    if transport == "tls" and not profile.claims("tls"):
        pytest.skip("N/A: the DUT profile does not claim TLS (pics.tls)")
    if transport and transport not in profile.transports:
        pytest.skip(f"NOT_RUN: transport {transport} is not selected in pixit.transports")
    chosen = item.config.getoption("sipqual_transport")
    if transport and chosen and transport not in chosen:
        pytest.skip(f"NOT_RUN: transport {transport} is not selected by --transport {' '.join(chosen)}")


@pytest.fixture(scope="session")
def sipqual_lab(request):
    """The lab for the whole run: namespaces and PKI for a managed DUT; the host's interfaces for real gear."""
    state = request.config.stash.get(STATE, None)
    if state is None:
        raise UsageError("sipqual fixtures need a qualification run (pass --dut PROFILE)")
    if state.profile_error:
        raise UsageError(state.profile_error)
    from .lab import open_lab

    lab = open_lab(state.profile, state.run_dir, lab_dir=f"lab/{state.worker}" if state.worker else "lab")
    state.lab = lab
    capman = request.config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else nullcontext():
        lab.__enter__()  # on the terminal: a stale lab cleaned up here is announced in one line on stderr
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def sq(request, sipqual_lab, transport):
    """Per-case context: the DUT running for this transport, a capture running, agents ready to start."""
    info = case_info(request.node)
    if info is None:
        raise UsageError(f"{request.node.nodeid}: the 'sq' fixture is for cases declared with sipqual.case")
    state = request.config.stash[STATE]
    sipqual_lab.start_dut(transport)
    _allure_labels(info, state, transport)
    ctx = CaseContext(sipqual_lab, transport, info.id, state.run_dir / "cases" / f"{info.id}-{transport}",
                      state.run_dir, request.config.getoption("sipqual_durations"))
    request.node.stash[CTX] = ctx
    state.ctxs[request.node.nodeid] = ctx
    try:
        yield ctx
    finally:
        with interrupts.cleanup(reraise=False):  # a signal now is raised once the case is done (pytest_runtest_protocol)
            ctx.close()
            _allure_attach(ctx)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Which case is in progress (an interrupt makes it NOT_RUN "interrupted"); a signal deferred while the case
    tore down is raised here, once the case is complete."""
    state = item.config.stash.get(STATE, None)
    if state is not None:
        state.current = item.nodeid
    result = yield
    if state is not None:
        state.current = None
    interrupts.checkpoint()
    return result


def _allure_labels(info, state, transport):
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    allure.dynamic.id(info.id)
    allure.dynamic.title(f"{info.id} {info.title} [{transport.upper()}]")
    allure.dynamic.parameter("dut", state.profile.name)
    allure.dynamic.parameter("transport", transport)
    allure.dynamic.severity({"M": "critical", "R": "normal", "O": "minor", "I": "trivial"}[info.severity])
    allure.dynamic.suite(info.id.split("-")[1])
    for req in info.requirements:
        allure.dynamic.link(f"requirements.md#{req}", link_type="tms", name=req)


def _allure_attach(ctx: CaseContext):
    try:
        import allure
    except ImportError:  # pragma: no cover
        return
    for path in ctx.evidence():
        kind = allure.attachment_type.PCAP if path.suffix == ".pcapng" else allure.attachment_type.TEXT
        allure.attach.file(str(path), name=str(path.relative_to(ctx.dir)), attachment_type=kind)
    if ctx.trace is not None and ctx.trace.sip:
        from .report.ladder import ladder_svg

        dut = set(ctx.verification["dut_addresses"])
        allure.attach(ladder_svg(ctx.trace.sip, dut), name="SIP ladder", attachment_type=allure.attachment_type.SVG)


def _new_result(info, transport, verdict: str, reason: str, nodeid: str) -> CaseResult:
    return CaseResult(info.id, info.title, list(info.requirements), transport, verdict, reason,
                      severity=info.severity, nodeid=nodeid, procedure=info.procedure, expected=info.expected)


def _skip_reason(rep) -> str:
    lr = rep.longrepr
    text = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)
    return text.removeprefix("Skipped: ")


def _error_reason(excinfo) -> str:
    e = excinfo.value
    return one_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    state = item.config.stash.get(STATE, None)
    info = case_info(item)
    if state is None or info is None:
        return
    transport = item.callspec.params.get("transport") if hasattr(item, "callspec") else None
    res = state.results.get(item.nodeid)
    if res is None:
        res = _new_result(info, transport, Verdict.NOT_RUN.value, "not run", item.nodeid)
        state.results[item.nodeid] = res
    res.duration_s = round(res.duration_s + rep.duration, 3)
    if rep.skipped:
        reason = _skip_reason(rep)
        res.verdict = (Verdict.NOT_RUN if reason.startswith("NOT_RUN") else Verdict.NA).value
        res.reason = one_line(reason.split(": ", 1)[-1])
    elif rep.when == "setup" and rep.failed:
        res.verdict, res.reason = Verdict.ERROR.value, "setup: " + _error_reason(call.excinfo)
        if call.excinfo.errisinstance(SipqualError):  # a lab/usage problem: one line, not a traceback per case
            rep.longrepr = f"sipqual: error: {one_line(str(call.excinfo.value))}"
            state.setup_error = state.setup_error or one_line(str(call.excinfo.value))
    elif rep.when == "call":
        state.called.add(item.nodeid)
        if rep.passed:
            ctx = item.stash.get(CTX, None)
            ok = [f for f in ctx.findings if f.ok] if ctx else []
            res.verdict = Verdict.PASS.value
            res.reason = one_line(f"{len(ok)} checks held on the capture" + (f"; e.g. {ok[0].message}" if ok else ""))
        elif call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
            bad = call.excinfo.value.findings
            res.verdict = Verdict.FAIL.value
            res.reason = one_line(bad[0].message + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""))
        else:
            # The case could not complete. If the capture already shows the DUT breaking a mandatory rule (e.g. a
            # 200 without Content-Length that the Mediation side could not frame), that violation is the answer:
            # FAIL. A dead DUT, or no violation at all, stays ERROR.
            ctx = item.stash.get(CTX, None)
            bad = [f for f in (ctx.findings if ctx else []) if not f.ok and f.severity == "M"]
            if bad and not call.excinfo.errisinstance(DutDied):
                res.verdict = Verdict.FAIL.value
                res.reason = one_line(f"{bad[0].message} (the case could not complete: {_error_reason(call.excinfo)})")
            else:
                res.verdict, res.reason = Verdict.ERROR.value, _error_reason(call.excinfo)
    elif rep.when == "teardown":
        if rep.failed and res.verdict in (Verdict.PASS.value, Verdict.NOT_RUN.value):
            res.verdict, res.reason = Verdict.ERROR.value, "teardown: " + _error_reason(call.excinfo)
        ctx = state.ctxs.pop(item.nodeid, None)
        if ctx is not None:
            _record_evidence(state, res, ctx, replayable=True)
    if state.worker:  # travels to the controller with the report (sipqual.parallel)
        rep.sipqual_result = asdict(res)


def pytest_runtest_logstart(nodeid, location):
    state = _STATE_OF.get("state")
    if state is not None and state.progress is not None:
        state.progress.case_started(nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report, config):
    """With live progress (sipqual.progress) pytest's own letters are left out; categories stay for its summary."""
    state = config.stash.get(STATE, None)
    if state is None or state.progress is None or report.when not in ("setup", "call", "teardown"):
        return None
    if report.when != "call":
        if report.failed:
            return "error", "", ""
        return ("skipped", "", "") if report.skipped else ("", "", "")
    return report.outcome, "", ""


def pytest_runtest_logreport(report):
    """The controller of a parallel run learns each case's result from its workers' reports; every run shows its
    progress once a case is done (sipqual.progress)."""
    state = _STATE_OF.get("state")
    if state is None or state.worker:
        return
    r = getattr(report, "sipqual_result", None)
    if r is not None:
        state.results[r["nodeid"]] = CaseResult(**r)
    elif report.when == "???" and report.failed:   # xdist: the worker running this case died (sipqual.parallel)
        state.crashed[report.nodeid] = one_line(str(report.longrepr))
    if report.when == "teardown" and state.progress is not None and report.nodeid in state.results:
        state.progress.case_done(state.results[report.nodeid])


def _record_evidence(state: RunState, res: CaseResult, ctx: CaseContext, replayable: bool) -> None:
    res.findings = [f.as_dict() for f in ctx.findings]
    if ctx.trace is not None:
        res.findings += [{"rule": "READER", "requirements": [], "severity": "I", "message": m,
                          "frames": [], "ok": False} for m in ctx.trace.findings]
    res.evidence = [str(p.relative_to(state.run_dir)) for p in ctx.evidence()]
    if replayable and ctx.capture.path.exists():
        res.verification = ctx.verification


def _interrupted_case(state: RunState, signal_name: str) -> None:
    """The case in progress when the run was interrupted: NOT_RUN "interrupted" unless its body had already
    reported, and whatever it captured kept as evidence (not replayable: the capture stops mid-case)."""
    nodeid = state.current
    if nodeid is None or nodeid not in state.infos:
        return
    info, transport = state.infos[nodeid]
    res = state.results.get(nodeid)
    if res is None:
        res = state.results[nodeid] = _new_result(info, transport, Verdict.NOT_RUN.value, "", nodeid)
    ctx = state.ctxs.pop(nodeid, None)
    if nodeid not in state.called:
        res.verdict = Verdict.NOT_RUN.value
        kept = "; its partial capture is kept as evidence" if ctx is not None and ctx.capture.path.exists() else ""
        res.reason = f"interrupted ({signal_name}) while the case ran{kept}"
    if ctx is not None and not res.evidence:
        _record_evidence(state, res, ctx, replayable=nodeid in state.called)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """Around pytest's own session teardown (the lab goes down there): from here on signals are only noted, and
    results.json is written even when the teardown failed; then the exit status (:func:`exit_status`)."""
    state = session.config.stash.get(STATE, None)
    if state is None:
        return (yield)
    with interrupts.finishing():
        try:
            return (yield)
        finally:
            _finish_run(session, state)


def _unreported(state: RunState, nodeid: str, info, transport) -> CaseResult:
    """The result of a case that never reported: deselected, never reached, or ERROR for a bad profile."""
    why = "deselected" if nodeid in state.deselected else "never reached (run interrupted or stopped early)"
    if state.profile_error:
        verdict, why = Verdict.ERROR.value, f"bad DUT profile: {state.profile_error}"
    else:
        verdict = Verdict.NOT_RUN.value
    return _new_result(info, transport, verdict, why, nodeid)


def _finish_run(session, state: RunState) -> None:
    signal_name = interrupts.interrupted()
    if signal_name:
        _interrupted_case(state, signal_name)
    if state.worker:  # a parallel run's worker: the controller writes the results (sipqual.parallel)
        state.known = {nodeid: asdict(_unreported(state, nodeid, info, transport))
                       for nodeid, (info, transport) in state.infos.items()}
        parallel.write_worker_file(state, session.config)
        return
    lab_info = {}
    if parallel.is_controller(session.config):
        if signal_name or state.crashed:  # a worker killed before it tore its lab down left a stale lab: gone now
            from .lab import cleanup_stale

            cleanup_stale()
        lab_info = parallel.merge_workers(state, lambda r: CaseResult(**r))
        for nodeid, fallback in state.known.items():
            if nodeid not in state.results:
                state.results[nodeid] = CaseResult(**fallback)
        for nodeid, why in state.crashed.items():  # no word from the worker, and no interrupt to explain it: ERROR
            res = state.results.get(nodeid)
            if res is not None and not signal_name and res.verdict == Verdict.NOT_RUN.value \
                    and res.reason.startswith("never reached"):
                res.verdict, res.reason = Verdict.ERROR.value, f"{why}; its lab was cleaned up"
    for nodeid, (info, transport) in state.infos.items():
        if nodeid not in state.results:
            state.results[nodeid] = _unreported(state, nodeid, info, transport)
    cases = sorted(state.results.values(), key=lambda c: (c.id, c.transport or ""))
    if state.lab is not None:
        lab_info = {"tag": state.lab.tag, "kind": state.profile.kind, "topology": state.lab.describe(),
                    "timings_s": {k: round(v, 3) for k, v in state.lab.timings.items()}}
    from .report.verdicts import coverage_snapshot

    transports = list(state.profile.transports) if state.profile is not None else None
    coverage = coverage_snapshot([asdict(c) for c in cases], implemented_case_ids(), transports, __version__)
    if state.progress is not None:
        state.progress.finish()
    write_results(state.run_dir, state.profile, cases, state.started, lab_info, coverage,
                  session.config.getoption("sipqual_durations"))
    _write_allure_extras(session.config, state)
    point_latest(state.run_dir)  # only now, atomically: a run in progress is never "latest"
    session.exitstatus = exit_status(cases, int(session.exitstatus), signal_name, state)


def exit_status(cases: list[CaseResult], pytest_status: int, signal_name: str | None, state=None) -> int:
    """What a nightly job gates on (README "Exit codes"): 130 interrupted; 2 a case ERROR or a usage/lab problem
    (bad profile, lab setup failed, pytest usage or collection error, nothing selected); 1 a case FAILs; 0 every
    executed case PASS or NA."""
    if signal_name:
        return interrupts.EXIT_INTERRUPTED
    verdicts = {c.verdict for c in cases}
    if state is not None and (state.profile_error or state.setup_error):
        return 2
    if Verdict.ERROR.value in verdicts or pytest_status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                                                           pytest.ExitCode.USAGE_ERROR):
        return 2
    if Verdict.FAIL.value in verdicts:
        return 1
    if not cases or all(c.reason == "deselected" for c in cases):
        return 2
    return 0


def _write_allure_extras(config, state):
    adir = getattr(config.option, "allure_report_dir", None)
    if not adir:
        return
    adir = Path(adir)
    adir.mkdir(parents=True, exist_ok=True)
    ident = state.profile.identity if state.profile else {}
    props = {"sipqual.version": __version__, "dut.vendor": ident.get("vendor", "?"),
             "dut.product": ident.get("product", "?"), "dut.version": ident.get("version", "?"),
             "dut.role": ident.get("role", "?"),
             "dut.profile": str(state.profile.path) if state.profile else "?"}
    (adir / "environment.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    categories = [
        {"name": "DUT non-conformance", "matchedStatuses": ["failed"], "messageRegex": ".*CheckFailed.*|.*expected.*"},
        {"name": "Lab / infrastructure trouble", "matchedStatuses": ["broken"],
         "messageRegex": ".*(LabError|AgentError|DutDied|ToolMissing|UsageError|Timeout).*"},
        {"name": "Not applicable", "matchedStatuses": ["skipped"], "messageRegex": ".*N/A.*"},
    ]
    (adir / "categories.json").write_text(json.dumps(categories, indent=2))


def pytest_unconfigure(config):
    if _STATE_OF.get("state") is config.stash.get(STATE, None):
        _STATE_OF.pop("state", None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(STATE, None)
    if state is None:
        return
    tr = terminalreporter
    if state.profile_error or state.setup_error:
        tr.write_line(f"sipqual: ERROR: {state.profile_error or state.setup_error}", red=True)
    counts = {}
    for r in state.results.values():
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    tr.write_line("sipqual: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) +
                  f" -> {os.path.relpath(state.run_dir / 'results.json')}")
