"""Benchmark: full capture analysis against one plain tshark SIP pass over the same file, measured in the same run.

    .venv/bin/python bench/verify_speed.py bench/out/calls.pcapng [--runs 3] [--tcp-port 5066 --tcp-port 5068]
        [--dut-ip 192.0.2.1 --dut-ip 198.51.100.1] [--skip-sip-rules] [--pyshark]

Baseline (issue 3): ``tshark -r FILE -Y sip -T fields -e frame.number -e sip.Call-ID -e sip.Method
-e sip.Status-Code``. Ours: :func:`sipqual.trace.read_trace` (SIP, SDP, RTP/RTCP/RFC 4733 model), the media rules on
what the DUT sent, and (unless ``--skip-sip-rules``) every registered SIP rule, i.e. exactly what
:func:`sipqual.rules.run_all` does, timed in parts. "full analysis" is read + media rules + SIP rules, one figure per
run. Each run times the baseline and ours
back to back (alternating which goes first, so a busy machine weighs on both alike); the medians of ``--runs`` runs
and their ratio are printed with peak RSS (this process, and the largest child, i.e. tshark) and the counts read.
``--pyshark`` also times pyshark 0.6 once in its default mode and with ``use_json=True``, touching each SIP layer,
for the README table. Timing is measured, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sipqual.trace import read_trace  # noqa: E402

BASELINE = ["-Y", "sip", "-T", "fields", "-e", "frame.number", "-e", "sip.Call-ID", "-e", "sip.Method",
            "-e", "sip.Status-Code"]


def baseline(path: Path) -> float:
    t0 = time.monotonic()
    subprocess.run(["tshark", "-r", str(path), *BASELINE], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=3600)
    return time.monotonic() - t0


def analysis(path: Path, keylog: Path | None, tls_ports: list[int], tcp_ports: list[int],
             dut: set[str], sip_rules: bool) -> tuple[float, float, float, dict]:
    """(seconds to read the capture into the model, seconds for the media rules, seconds for the SIP rule library
    including building its dialog model, counts)."""
    from sipqual.dialogs import Model
    from sipqual.rules import evaluate
    from sipqual.rules.media import evaluate_media

    t0 = time.monotonic()
    trace = read_trace(path, keylog, tls_ports, tcp_ports)
    t1 = time.monotonic()
    findings = list(evaluate_media(trace, dut))
    t2 = time.monotonic()
    if sip_rules:
        findings += list(evaluate(Model(trace, dut)))
    t3 = time.monotonic()
    counts = {"SIP messages": len(trace.sip), "RTP streams": len(trace.rtp), "RTP packets": trace.media.packets,
              "RTCP flows": len(trace.media.rtcp), "RFC 4733 events": len(trace.media.events()),
              "rule outcomes": len(findings), "violations": sum(not f.ok for f in findings),
              "reader findings": len(trace.findings)}
    return t1 - t0, t2 - t1, t3 - t2, counts


def pyshark_pass(path: Path, tcp_ports: list[int], use_json: bool) -> tuple[float, int]:
    """pyshark over the same file, SIP only, the way lab-notes.md used it; always closed (no tshark left)."""
    import pyshark

    t0 = time.monotonic()
    cap = pyshark.FileCapture(str(path), display_filter="sip", keep_packets=False, use_json=use_json,
                              decode_as={f"tcp.port=={p}": "sip" for p in tcp_ports})
    n = 0
    try:
        for pkt in cap:
            n += len(pkt.get_multiple_layers("sip"))
    finally:
        cap.close()
    return time.monotonic() - t0, n


def packets_in(path: Path) -> str:
    cp = subprocess.run(["capinfos", "-c", "-M", str(path)], capture_output=True, text=True, check=False)
    return cp.stdout.strip().splitlines()[-1].split(":")[-1].strip() if cp.returncode == 0 else "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keylog", type=Path)
    ap.add_argument("--tls-port", type=int, action="append", default=[])
    ap.add_argument("--tcp-port", type=int, action="append", default=None, help="SIP over TCP ports (default: "
                    "the lab's 5066 and 5068)")
    ap.add_argument("--dut-ip", action="append", default=None, help="DUT addresses (default: the lab's)")
    ap.add_argument("--skip-sip-rules", action="store_true", help="time the reader and media model only (the SIP "
                    "rule library is timed by default)")
    ap.add_argument("--pyshark", action="store_true", help="also time pyshark once (slow: minutes)")
    args = ap.parse_args()
    tcp_ports = args.tcp_port if args.tcp_port is not None else [5066, 5068]
    dut = set(args.dut_ip or ["192.0.2.1", "198.51.100.1"])
    base, reads, media, sip, counts = [], [], [], [], {}
    for i in range(args.runs):
        if i % 2 == 0:
            base.append(baseline(args.capture))
        read, media_s, sip_s, counts = analysis(args.capture, args.keylog, args.tls_port, tcp_ports, dut,
                                                not args.skip_sip_rules)
        reads.append(read)
        media.append(media_s)
        sip.append(sip_s)
        if i % 2 == 1:
            base.append(baseline(args.capture))
        print(f"run {i + 1}: baseline {base[-1]:.2f} s, read {read:.2f} s, media rules {media_s:.2f} s, SIP rules "
              f"{sip_s:.2f} s", file=sys.stderr)
    ours = [r + m + s for r, m, s in zip(reads, media, sip)]
    b, o = statistics.median(base), statistics.median(ours)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"capture: {args.capture} ({args.capture.stat().st_size / 1e6:.1f} MB, {packets_in(args.capture)} packets)")
    print(f"baseline tshark -Y sip -T fields pass: {b:.2f} s   (median of {args.runs}: "
          f"{', '.join(f'{x:.2f}' for x in base)})")
    print(f"read (SIP + SDP + RTP/RTCP/RFC 4733 model): {statistics.median(reads):.2f} s   (median of "
          f"{args.runs}: {', '.join(f'{x:.2f}' for x in reads)}) = {statistics.median(reads) / b:.2f}x")
    print(f"media rules: {statistics.median(media):.2f} s")
    print("SIP rule library: " + ("skipped" if args.skip_sip_rules else f"{statistics.median(sip):.2f} s   (median "
          f"of {args.runs}: {', '.join(f'{x:.2f}' for x in sip)})"))
    what = "read + media rules" if args.skip_sip_rules else "read + media rules + SIP rules"
    print(f"full analysis ({what}): {o:.2f} s   (median of {args.runs}: {', '.join(f'{x:.2f}' for x in ours)})   "
          f"ratio: {o / b:.2f}x   (goal: at most 2x)")
    print(f"peak RSS: this process {own:.0f} MB, largest child (tshark) {child:.0f} MB")
    for k, v in counts.items():
        print(f"{k}: {v}")
    if args.pyshark:
        for use_json in (False, True):
            took, n = pyshark_pass(args.capture, tcp_ports, use_json)
            print(f"pyshark FileCapture(display_filter='sip', use_json={use_json}): {took:.2f} s for {n} SIP "
                  f"messages = {took / b:.1f}x the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
