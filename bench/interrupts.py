#!/usr/bin/env python3
"""Interrupted runs, N times: each `sipqual qualify` (README command one, one cheap case) is stopped with SIGINT
(to its process group, as a terminal's Ctrl-C), SIGINT twice, or SIGTERM (to the process, as timeout/CI/systemd)
at a random moment (seeded; never before sipqual's own code runs and handles signals, which
the interpreter's start-up delays by 0.1-0.5 s), then checked: nothing left behind (tests/test_lab.py's leftovers(): namespaces, lab
processes, TLS edges, state: every process that inherited the run's own TMPDIR, its namespaces and
state directory; tests/test_lab.py's leftovers() is printed besides, as it also counts other users' runs),
results.json and report.html written in the run's own directory, no Chromium profile
directory left, exit status 130 (or 0 when the run had already finished).

    bench/interrupts.py [--runs 20] [--seed 1] [--select "TC-TRN-01 and tcp"] [--max-delay 9]

Root (the namespace lab). Every run is bounded (--timeout); a run that hangs is killed and counted as a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from sipqual.lab import STATE_ROOT  # noqa: E402
from test_lab import leftovers  # noqa: E402

MODES = ("SIGINT", "2xSIGINT", "SIGTERM")


def phase(run: Path | None) -> str:
    """Where the signal landed, read from the results: before any case, during one, or after the cases."""
    try:
        doc = json.loads((run / "results.json").read_text())
    except (OSError, TypeError, ValueError):
        return "?"
    reasons = [c["reason"] for c in doc["cases"] if c["reason"] != "deselected"]
    if any(r.startswith("interrupted") for r in reasons):
        return "mid-case"
    if any(r.startswith("never reached") for r in reasons):
        return "before case"
    return "after case"


def handles_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler (SigCgt in /proc/PID/status): sipqual's is installed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except (OSError, ValueError):
        pass
    return False


def left_by(tmp: Path, tags: list[str]) -> list[str]:
    """What this run left: processes carrying its TMPDIR in their environment (every process it started inherits
    it: SIPp, Kamailio, rtpengine, dumpcap, TLS edges, tshark, Chromium), its namespaces and its state directory.
    Precise where tests/test_lab.py's leftovers() is not: other runs on this machine (other users' test namespaces,
    their orphans) are not counted."""
    marker = f"TMPDIR={tmp}".encode()
    out = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in env.read_bytes().split(b"\0"):
                stat = (env.parent / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(f"{stat.split('(', 1)[1].split(')', 1)[0]}:{env.parent.name}")
        except (OSError, IndexError):
            continue
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split() if tags else []
    for tag in tags:
        out += [n for n in ns if n.startswith(f"sq{tag}-")]
        out += [f"state:{tag}"] if (STATE_ROOT / tag).exists() else []
    return out


def run_tags(run: Path | None) -> list[str]:
    """The run's lab tags: its lab's, or every parallel worker's (results.json lab.workers)."""
    try:
        lab = json.loads((run / "results.json").read_text())["lab"]
    except (OSError, TypeError, ValueError, KeyError):
        return []
    return [t for t in {lab.get("tag"), *(w.get("tag") for w in lab.get("workers", []))} if t]


def one_run(i: int, mode: str, delay: float, gap: float, args, work: Path) -> dict:
    tmp = work / f"tmp{i}"
    tmp.mkdir()
    argv = [sys.executable, "-m", "sipqual.cli", "qualify", "--dut", str(ROOT / "lab/duts/reference-sbc.yaml"),
            "--reports", str(work / "reports"), "-k", args.select]
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    baseline = leftovers()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    signalled = False
    # not before sipqual handles signals: during the interpreter's own start-up (0.1-0.5 s on this machine, before
    # any sipqual code ran and anything was created) a signal gets Python's default treatment
    while not handles_sigterm(proc.pid) and proc.poll() is None and time.monotonic() - t0 < 30:
        time.sleep(0.005)
    startup = time.monotonic() - t0
    while time.monotonic() - t0 < delay and proc.poll() is None:
        time.sleep(0.01)
    if proc.poll() is None:
        signalled = True
        if mode == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
            if mode == "2xSIGINT":
                time.sleep(gap)
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGINT)
    hung = False
    try:
        out, err = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    seconds = time.monotonic() - t0
    last = (out.strip().splitlines() or [""])[-1]
    run = Path(last.split(": ", 2)[2]).parent if last.startswith("sipqual: report: /") else None
    left = left_by(tmp, run_tags(run))
    others = [x for x in leftovers() if x not in baseline]
    chromium = [p.name for p in tmp.glob("sipqual-chromium-*")]
    expected_rc = 130 if signalled else 0
    row = {"run": i, "mode": mode, "delay_s": round(max(delay, startup), 2), "startup_s": round(startup, 2),
           "rc": proc.returncode, "phase": phase(run),
           "seconds": round(seconds, 1), "left": left, "chromium_dirs": chromium,
           "results": bool(run and (run / "results.json").is_file()),
           "report": bool(run and (run / "report.html").is_file()), "signalled": signalled, "hung": hung,
           "not_ours_new": others}
    row["ok"] = (not hung and not left and not chromium and row["results"] and row["report"]
                 and proc.returncode == expected_rc)
    if not row["ok"]:
        row["stderr_tail"] = err.strip().splitlines()[-3:]
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--select", default="TC-TRN-01 and tcp", help="pytest -k for the run (default: one OUT call)")
    ap.add_argument("--max-delay", type=float, default=9.0, help="latest signal, seconds after the start")
    ap.add_argument("--timeout", type=float, default=180.0, help="bound on each run after the signal")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/interrupts.py: the namespace lab needs root", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    modes = [MODES[i % 3] for i in range(args.runs)]
    rng.shuffle(modes)
    rows = []
    with tempfile.TemporaryDirectory(prefix="sipqual-interrupts-") as work:
        for i, mode in enumerate(modes, 1):
            delay, gap = rng.uniform(0.3, args.max_delay), rng.uniform(0.02, 0.5)
            row = one_run(i, mode, delay, gap, args, Path(work))
            rows.append(row)
            print(f"{row['run']:>3} {row['mode']:<9} {row['delay_s']:>6.2f} s  exit {row['rc']!s:>4}  "
                  f"{row['phase']:<12} {row['seconds']:>5.1f} s  left {len(row['left'])}  "
                  f"results {'yes' if row['results'] else 'NO'}  report {'yes' if row['report'] else 'NO'}  "
                  f"{'ok' if row['ok'] else 'FAILED ' + str(row.get('left') or row.get('stderr_tail'))}"
                  f"{'  (leftovers() also saw, not this run: ' + str(row['not_ours_new']) + ')' if row['not_ours_new'] else ''}",
                  flush=True)
    print()
    print("| signal | runs | signalled before the end (mid-case / before a case / after the case) | exit 130 "
          "| left behind | results.json + report.html | ok |")
    print("|---|---|---|---|---|---|---|")
    for mode in MODES:
        rs = [r for r in rows if r["mode"] == mode]
        sig = [r for r in rs if r["signalled"]]
        ph = {p: sum(1 for r in sig if r["phase"] == p) for p in ("mid-case", "before case", "after case")}
        print(f"| {mode} | {len(rs)} | {len(sig)} ({ph['mid-case']} / {ph['before case']} / {ph['after case']}) "
              f"| {sum(1 for r in sig if r['rc'] == 130)} | {sum(1 for r in rs if r['left'] or r['chromium_dirs'])} "
              f"| {sum(1 for r in rs if r['results'] and r['report'])} | {sum(1 for r in rs if r['ok'])} |")
    ok = sum(1 for r in rows if r["ok"])
    print(f"\n{ok} of {len(rows)} runs ok (seed {args.seed}, -k {args.select!r})")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
