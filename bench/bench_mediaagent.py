"""Benchmark: how many concurrent 20 ms G.711 streams one media agent process sustains on this machine.

    .venv/bin/python bench/bench_mediaagent.py [--streams 10 25 50 100 200] [--seconds 10] [--srtp] [--no-tones]
        [--processes 1]

For each stream count N: ``--processes`` agent processes send N streams in all (audio, RTCP at 5 s) on loopback to
as many receiving agent processes (one stream each way per pair: every process both sends and receives), for
``--seconds``; then both sides stop and report. A count is *sustained* when no sender skipped a tick (fell more than
5 ticks behind), every stream lost nothing, and the receivers' RFC 3550 jitter stayed under 5 ms (99th percentile of
the streams). Printed per N: sustained yes/no, worst sender lateness (ms), skipped ticks, lost packets, jitter p50/p99
(ms), and the CPU seconds the agents used (user+sys, from their rusage) per second of wall time. Timing is measured,
never asserted; do not run it while other jobs load the machine (the figure would be theirs). ``--srtp``: every
stream is SDES SRTP (AES_CM_128_HMAC_SHA1_80) through libsrtp2; ``--no-tones``: receivers skip Goertzel detection.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipqual.mediaagent import AgentConfig, MediaAgent, SdesKey, StreamConfig  # noqa: E402
from sipqual.procs import Supervisor  # noqa: E402

JITTER_LIMIT_MS = 5.0


def port_pairs(n: int) -> list[int]:
    """``n`` even ports whose successors are free too, found by binding (held until the agents bind them)."""
    found: list[int] = []
    for _ in range(n * 20):
        if len(found) == n:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1] & ~1
        s.close()
        if port < 1024 or port in found or port + 1 in found or port - 1 in found:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            found.append(port)
        except OSError:
            continue
    if len(found) < n:
        raise SystemExit(f"found only {len(found)} free port pairs of {n}")
    return found


def run(n: int, seconds: float, processes: int, srtp: bool, tones: bool, workdir: Path) -> dict:
    ports = port_pairs(2 * n)
    sup = Supervisor(workdir / "state")
    sides: list[list[StreamConfig]] = [[] for _ in range(2 * processes)]
    for i in range(n):
        a, b = ports[2 * i], ports[2 * i + 1]
        ka, kb = (SdesKey.make().as_dict(), SdesKey.make().as_dict()) if srtp else (None, None)
        common = {"bind": "127.0.0.1", "peer": "127.0.0.1", "plan": [{"kind": "audio", "seconds": seconds + 5}],
                  "detect_tones": tones}
        sa = StreamConfig(name=f"a{i}", port=a, peer_port=b, send_key=ka, recv_keys=[kb] if kb else [], **common)
        sb = StreamConfig(name=f"b{i}", port=b, peer_port=a, send_key=kb, recv_keys=[ka] if ka else [], **common)
        p = i % processes
        sides[2 * p].append(sa)
        sides[2 * p + 1].append(sb)
    agents = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        for k, streams in enumerate(s for s in sides if s):
            agents.append(MediaAgent.start(sup, workdir / f"agent{k}", AgentConfig(streams, seconds + 30),
                                           name=f"bench{k}"))
        time.sleep(seconds)
        reports = [a.stop(timeout=30) for a in agents]
    finally:
        sup.stop_all(grace=1.0)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    streams = [s for r in reports for s in r["streams"]]
    late = max(s["sent"]["max_late_ms"] for s in streams)
    skipped = sum(s["sent"]["late_skipped"] for s in streams)
    lost = sum(x["lost"] for s in streams for x in s["received"]["streams"])
    missing = sum(1 for s in streams if not s["received"]["streams"])
    jitter = sorted(x["jitter_ms"] for s in streams for x in s["received"]["streams"]) or [float("inf")]
    p99 = jitter[min(len(jitter) - 1, int(0.99 * len(jitter)))]
    failures = sum(s["received"]["srtp"]["rtp"]["auth"] for s in streams if s["received"]["srtp"]) if srtp else 0
    return {"streams": n, "sustained": skipped == 0 and lost == 0 and missing == 0 and p99 < JITTER_LIMIT_MS
            and failures == 0, "max_late_ms": late, "skipped": skipped, "lost": lost, "silent": missing,
            "jitter_p50": statistics.median(jitter), "jitter_p99": p99, "cpu_per_s": cpu / wall,
            "auth_failures": failures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--srtp", action="store_true")
    ap.add_argument("--no-tones", action="store_true")
    args = ap.parse_args()
    print(f"# {os.cpu_count()} CPUs; {args.processes} sending+receiving process pair(s); "
          f"{'SRTP' if args.srtp else 'plain RTP'}; tone detection {'off' if args.no_tones else 'on'}; "
          f"{args.seconds:.0f} s per count")
    print("streams  sustained  max_late_ms  skipped  lost  silent  jitter_p50  jitter_p99  cpu_s/s")
    with tempfile.TemporaryDirectory(prefix="bench-mediaagent-") as tmp:
        for n in args.streams:
            r = run(n, args.seconds, args.processes, args.srtp, not args.no_tones, Path(tmp) / f"n{n}")
            print(f"{r['streams']:7d}  {'yes' if r['sustained'] else 'no':>9}  {r['max_late_ms']:11.1f}  "
                  f"{r['skipped']:7d}  {r['lost']:4d}  {r['silent']:6d}  {r['jitter_p50']:10.2f}  "
                  f"{r['jitter_p99']:10.2f}  {r['cpu_per_s']:7.2f}", flush=True)


if __name__ == "__main__":
    main()
