"""Benchmark: how many fuzz inputs per second suite ROB's fuzzer makes, and pushes through the sender with a liveness
probe after each.

    .venv/bin/python bench/bench_fuzz.py [--count 300] [--seed 12] [--no-send]

1. Generation: ``--count`` seeded mutations (:mod:`sipqual.fuzz`) built in-process; inputs per second.
2. Sending (as root; scapy sends raw IP): ``python -m sipqual.rawsip answer`` on 127.0.0.1 plays the device (it
   answers every request but ACK and responses, the liveness OPTIONS with 200), ``python -m sipqual.rawsip send
   --transport udp`` sends the same inputs to it, each followed by its probe, exactly as in a case; inputs per second
   over the sender's own record (first to last input), and how many got an answer. The device here answers at once,
   so the figure is the sender's ceiling; a real DUT that drops inputs costs the sender's ``--window`` (0.3 s) each.
Timing is measured, never asserted; run it on a quiet machine (the figure would otherwise be the other jobs').
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipqual import fuzz, torture  # noqa: E402

HOST, DEV_PORT, OUR_PORT = "127.0.0.1", 25060, 25061


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=fuzz.DEFAULT_SEED)
    ap.add_argument("--no-send", action="store_true")
    a = ap.parse_args()
    t = torture.Target(HOST, DEV_PORT, "UDP", HOST, OUR_PORT, "+15550002000", "bench")
    t0 = time.perf_counter()
    msgs = fuzz.mutants(t, a.seed, a.count)
    gen = time.perf_counter() - t0
    print(f"generation: {len(msgs)} inputs in {gen:.3f} s = {len(msgs) / gen:.0f} inputs/s (seed {a.seed})")
    if a.no_send:
        return 0
    if os.geteuid() != 0:
        print("sending: skipped (scapy needs root to send raw IP)")
        return 0
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        probes = [torture.probe(t, n) for n in range(len(msgs))]
        (d / "plan.json").write_text(json.dumps({"messages": [m.as_plan() for m in msgs],
                                                 "probes": [p.data.decode("latin-1") for p in probes]}))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        dev = subprocess.Popen([sys.executable, "-m", "sipqual.rawsip", "answer", "--bind", f"{HOST}:{DEV_PORT}",
                                "--out", str(d / "answered.jsonl"), "--max-seconds", "900"], env=env)
        try:
            time.sleep(1.0)
            subprocess.run([sys.executable, "-m", "sipqual.rawsip", "send", "--plan", str(d / "plan.json"),
                            "--out", str(d / "sent.json"), "--connect", f"{HOST}:{DEV_PORT}", "--source", HOST,
                            "--local-port", str(OUR_PORT), "--transport", "udp", "--max-seconds", "900"],
                           env=env, check=True, timeout=960)
        finally:
            dev.terminate()
            dev.wait(timeout=10)
        rec = json.loads((d / "sent.json").read_text())
    sent = rec["messages"]
    span = sent[-1]["t"] - sent[0]["t"] if len(sent) > 1 else 0.0
    answered = sum(1 for e in sent if e["responses"])
    alive = sum(1 for e in sent if e["probe"])
    rate = f"{(len(sent) - 1) / span:.1f} inputs/s" if span else "n/a"
    print(f"sending (UDP, probe after each): {len(sent)} inputs in {span:.2f} s = {rate}; {answered} answered, "
          f"{alive} probes answered{'; stopped: ' + rec['stopped'] if rec.get('stopped') else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
