"""Benchmark: lab up/down, per-case wall time and per-case overhead of a qualification run on the embedded lab
(needs root).

    .venv/bin/python bench/lab_timings.py [--runs N] [--jobs N] [--dut lab/duts/reference-sbc.yaml] [-k EXPR]
                                          [--tree OTHER_CHECKOUT]

Per case: its wall time (pytest setup + call + teardown, as results.json records it), the protocol's own time (first
to last packet of its capture: what the DUT and our agents exchanged) and the overhead, the difference: starting the
capture, agents and TLS edges, draining and stopping the capture, reading it, the passive rules (the first case of
each lab also carries the lab's start: one case in many, the median hardly moves). Prints one table; the figures in README.md come from here. Timing is measured, never asserted; figures
taken while the machine is busy are only good as ratios.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipqual.pcapread import Truncated, read_blocks  # noqa: E402


def capture_span(path: Path) -> float | None:
    """Seconds from the first to the last packet of a capture (None: no capture, or fewer than two packets)."""
    times = []
    try:
        with path.open("rb") as f:
            for b in read_blocks(f):
                if b.frame is not None:
                    times.append(b.frame.time)
    except (OSError, Truncated):
        pass
    return max(times) - min(times) if len(times) > 1 else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="pytest-xdist workers (parallel labs); 1: a serial run")
    ap.add_argument("--dut", default=str(ROOT / "lab/duts/reference-sbc.yaml"))
    ap.add_argument("-k", default=None, help="pytest -k selection (default: every case)")
    ap.add_argument("--tree", default=str(ROOT), help="the checkout to time (default: this one; e.g. the tree before a "
                                                      "change, to compare on the same machine at the same time)")
    args = ap.parse_args()
    tree = Path(args.tree).resolve()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    rows: dict[str, list[float]] = {}
    overhead: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            argv = [sys.executable, "-m", "pytest", str(tree / "suites"), "-q", "-p", "no:cacheprovider",
                    "--dut", args.dut, "--sipqual-reports", tmp]
            argv += ["-n", str(args.jobs)] if args.jobs > 1 else []
            argv += ["-k", args.k] if args.k else []
            t0 = time.monotonic()
            subprocess.run(argv, cwd=tree, capture_output=True, check=False, env=env)
            rows.setdefault("whole run (wall, incl. pytest start)", []).append(time.monotonic() - t0)
            run = Path(tmp) / "latest"
            doc = json.loads((run / "results.json").read_text())
            labs = doc["lab"].get("workers") or [doc["lab"]]
            for lab in labs:
                for k, v in lab.get("timings_s", {}).items():
                    rows.setdefault(f"lab {k}", []).append(v)
            ran = [c for c in doc["cases"] if c["verdict"] in ("PASS", "FAIL", "ERROR")]
            for c in ran:
                name = f"case {c['id']} {c['transport']} ({c['verdict']})"
                rows.setdefault(name, []).append(c["duration_s"])
                cap = next((run / e for e in c["evidence"] if e.endswith("capture.pcapng")), None)
                span = capture_span(cap) if cap else None
                if span is None:
                    continue
                rows.setdefault(f"  {c['id']} {c['transport']} protocol (capture span)", []).append(span)
                overhead.setdefault(c["transport"], []).append(c["duration_s"] - span)
    print(f"{'figure':60} {'median s':>9} {'min s':>7} {'max s':>7}   (runs: {args.runs}, jobs: {args.jobs})")
    for k, v in rows.items():
        print(f"{k:60} {statistics.median(v):9.2f} {min(v):7.2f} {max(v):7.2f}")
    for t, v in sorted(overhead.items()):
        print(f"{'per-case overhead ' + t + ' (wall - capture span; median of every case)':60} "
              f"{statistics.median(v):9.2f} {min(v):7.2f} {max(v):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
