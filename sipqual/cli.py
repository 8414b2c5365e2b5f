"""``sipqual`` command line: ``qualify`` runs the suites against a DUT profile; ``verify`` checks a saved capture.

Errors a user can fix are printed as one line (``sipqual: error: ...``) with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import SipqualError

ROOT = Path(__file__).resolve().parent.parent


def cmd_qualify(args, extra: list[str]) -> int:
    import pytest

    from .profile import load_profile

    from .errors import UsageError

    argv = [str(ROOT / "suites"), "--dut", str(args.dut), "-p", "no:cacheprovider", "-q"]
    bad_profile = None
    try:
        load_profile(args.dut)
    except UsageError as e:  # still run, quietly, so the report records every case as ERROR with the reason
        bad_profile = e
        print(f"sipqual: error: {e}", file=sys.stderr)
        argv += ["--tb=no", "--no-summary", "-qq"]
    if args.reports:
        argv += ["--sipqual-reports", str(args.reports)]
    code = pytest.main(argv + extra)
    latest = Path(args.reports or ROOT / "reports") / "latest" / "results.json"
    if latest.exists():
        print(f"sipqual: results: {latest.resolve()}")
    if bad_profile is not None:
        return 2
    # pytest's exit 1 means "some case did not pass": the run itself worked
    return 0 if code in (0, 1) else int(code)


def cmd_verify(args, extra: list[str]) -> int:
    from .rules import run_passive
    from .trace import read_trace

    trace = read_trace(args.capture, Path(args.keylog) if args.keylog else None, args.tls_port, args.tcp_port)
    dut = set(args.dut_ip) or {p.src for p in trace.sip}
    findings = run_passive(trace, dut)
    out = {"capture": str(args.capture), "sip_messages": len(trace.sip), "rtp_packets": len(trace.rtp),
           "reader_findings": trace.findings, "findings": [f.as_dict() for f in findings]}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.capture}: {len(trace.sip)} SIP messages, {len(trace.rtp)} RTP packets")
        for f in trace.findings:
            print(f"  reader: {f}")
        for f in findings:
            print(f"  {f.severity} {f.message}")
        print(f"  {len(findings)} violation(s)")
    return 1 if any(f.severity == "M" for f in findings) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="sipqual", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("qualify", help="run the qualification suites against a DUT profile")
    q.add_argument("--dut", default=str(ROOT / "lab" / "duts" / "reference-sbc.yaml"), type=Path)
    q.add_argument("--reports", type=Path, default=None, help="reports root (default ./reports)")
    v = sub.add_parser("verify", help="check a saved capture offline (passive RFC 3261 rules)")
    v.add_argument("capture", type=Path)
    v.add_argument("--keylog", default=None)
    v.add_argument("--tls-port", type=int, action="append", default=[], help="TCP port carrying SIP over TLS")
    v.add_argument("--tcp-port", type=int, action="append", default=[], help="TCP port carrying SIP")
    v.add_argument("--dut-ip", action="append", default=[], help="address of the device to judge (default: all)")
    v.add_argument("--json", action="store_true")
    args, extra = p.parse_known_args(argv)
    try:
        return {"qualify": cmd_qualify, "verify": cmd_verify}[args.cmd](args, extra)
    except SipqualError as e:
        print(f"sipqual: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sipqual: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
