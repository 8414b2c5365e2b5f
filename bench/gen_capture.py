"""Generate the capture the analysis benchmark reads: many short G.711 calls through the reference DUT (needs root).

    .venv/bin/python bench/gen_capture.py [--calls 2000] [--rate 40] [--hold-ms 400] [--out bench/out/calls.pcapng]

The Mediation side places ``--calls`` calls over TCP (Kamailio + rtpengine relay them to the far side over UDP);
both ends stream G.711 while the call is up, so each call gives about 4 x hold/20 ms RTP packets plus its SIP on
both legs. dumpcap records both DUT interfaces into one pcapng, as in a qualification run. Everything is bounded:
SIPp ``-m`` and ``-r``, SIPp's global ``-timeout``, dumpcap's ``-a duration``; the lab tears down on any exit.
The output lives under ``bench/out/`` (ignored by git); the run's SIPp logs go to a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipqual import sipp  # noqa: E402
from sipqual.capture import Capture, pcapng_packet_count  # noqa: E402
from sipqual.lab import Lab  # noqa: E402
from sipqual.media import write_tone  # noqa: E402
from sipqual.profile import load_profile  # noqa: E402


def generate(out: Path, calls: int, rate: int, hold_ms: int, dut: Path) -> tuple[int, float]:
    """Run the calls and return (packets in the capture, seconds taken)."""
    profile = load_profile(dut)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    budget = int(calls / rate + hold_ms / 1000 + 60)   # SIPp's global timeout: the whole run, with margin
    with tempfile.TemporaryDirectory(prefix="sipqual-bench-") as tmp, Lab(profile, Path(tmp)) as lab:
        lab.start_dut("tcp")
        t, p = lab.topology, profile.pixit
        capture = Capture(lab.sup, out, t.capture_interfaces, t.capture_netns, max_seconds=budget + 30).start()
        keys = {"test_id": "bench", "uri_transport": "tcp", "via_transport": "TCP"}
        far_port = p["far"]["port"]
        callee = sipp.Agent("far-callee", "call_uas.xml", t.far.netns, t.far.ip, far_port, p["far"]["transport"],
                            keys={**keys, "adv_host": t.far.ip, "adv_port": far_port,
                                  "uri_transport": p["far"]["transport"],
                                  "via_transport": p["far"]["transport"].upper()},
                            calls=calls, timeout_s=budget, media_port=26000, ctrl_port=18001)
        local = 15060
        caller = sipp.Agent("ms-caller", "call_uac.xml", t.ms.netns, t.ms.ip, local, "tcp",
                            remote=f"{t.ms.peer_ip}:{p['dut']['ports']['tcp']}",
                            keys={**keys, "adv_host": t.ms.ip, "adv_port": local, "ruri_host": p["dut"]["fqdn"],
                                  "ruri_port": p["dut"]["ports"]["tcp"],
                                  "called": p["numbers"]["outbound_called"],
                                  "caller": p["numbers"]["outbound_caller"]},
                            calls=calls, timeout_s=budget, pause_ms=hold_ms, media_port=16000, ctrl_port=18000,
                            extra=["-r", str(rate)])
        runs = []
        for agent, server in ((callee, True), (caller, False)):
            workdir = Path(tmp) / f"sipp-{agent.name}"
            workdir.mkdir(parents=True)
            write_tone(workdir / "tone.ulaw", seconds=max(1.0, hold_ms / 1000 + 1))
            runs.append(sipp.start(agent, lab.sup, workdir, server=server))
        results = [r.finish(extra_wait=30) for r in reversed(runs)]   # caller first: it decides when we are done
        capture.stop(drain_timeout=10)
        for r in results:
            print(r.summary(), file=sys.stderr)
    return pcapng_packet_count(out), time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=40, help="calls per second")
    ap.add_argument("--hold-ms", type=int, default=400, help="how long each call stays up (RTP both ways)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "calls.pcapng")
    ap.add_argument("--dut", type=Path, default=ROOT / "lab" / "duts" / "reference-sbc.yaml")
    args = ap.parse_args()
    if shutil.which("sipp") is None:
        print("sipp is not installed (run scripts/bootstrap.sh as root)", file=sys.stderr)
        return 2
    packets, secs = generate(args.out.resolve(), args.calls, args.rate, args.hold_ms, args.dut)
    print(f"{args.out}: {packets} packets, {args.out.stat().st_size / 1e6:.1f} MB, generated in {secs:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
