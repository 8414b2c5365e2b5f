"""Benchmark: lab up/down and per-case wall time of a qualification run on the embedded lab (needs root).

    .venv/bin/python bench/lab_timings.py [--runs N] [--dut lab/duts/reference-sbc.yaml]

Prints one table; the figures in README.md come from here. Timing is measured, never asserted.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dut", default=str(ROOT / "lab/duts/reference-sbc.yaml"))
    args = ap.parse_args()
    rows: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "suites"), "-q", "-p", "no:cacheprovider",
                            "--dut", args.dut, "--sipqual-reports", tmp], cwd=ROOT, capture_output=True, check=False)
            rows.setdefault("whole run (wall, incl. pytest start)", []).append(time.monotonic() - t0)
            doc = json.loads((Path(tmp) / "latest" / "results.json").read_text())
            for k, v in doc["lab"].get("timings_s", {}).items():
                rows.setdefault(f"lab {k}", []).append(v)
            for c in doc["cases"]:
                rows.setdefault(f"case {c['id']} {c['transport']} ({c['verdict']})", []).append(c["duration_s"])
    print(f"{'figure':55} {'median s':>9} {'min s':>7} {'max s':>7}   (runs: {args.runs})")
    for k, v in rows.items():
        print(f"{k:55} {statistics.median(v):9.2f} {min(v):7.2f} {max(v):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
