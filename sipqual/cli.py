"""``sipqual`` command line: ``qualify`` runs the suites against a DUT profile; ``verify`` checks a saved capture.

``report``, ``bundle`` and ``verify-bundle`` render a saved run's report, pack its evidence, and check a pack.

Errors a user can fix are printed as one line (``sipqual: error: ...``) with exit code 2. ``qualify`` exits 0 (every
executed case PASS or NA), 1 (a case FAILs), 2 (a case ERROR, or a usage/lab problem), 130 (interrupted).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from . import interrupts
from .errors import SipqualError, UsageError

ROOT = Path(__file__).resolve().parent.parent


def cmd_qualify(args, extra: list[str]) -> int:
    """Run the suites, then render this run's own report (found through the plugin, never ``reports/latest``).
    Exit status as :func:`sipqual.plugin.exit_status` (README "Exit codes"); results and report are written in
    every case, also after SIGINT or SIGTERM."""
    import pytest

    interrupts.hold()  # (held since main) released by the plugin once the run directory and the case list exist
    from .lab import preflight
    from .plugin import run_dir as plugin_run_dir
    from .profile import load_profile

    from .parallel import default_jobs

    argv = [str(ROOT / "suites"), "--dut", str(args.dut), "-p", "no:cacheprovider", "-q", "--sipqual-progress",
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]  # sipqual is imported before pytest starts
    problem = None
    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: at least 1")
    try:
        profile = load_profile(args.dut)
        if not profile.managed and jobs > 1:
            print("sipqual: external gear (kind: external) runs one case at a time (one device on fixed ports): "
                  f"--jobs {jobs} ignored", file=sys.stderr)
            jobs = 1
        preflight(profile)
    except SipqualError as e:  # still run, quietly, so the report records every case as ERROR with the reason
        problem = e
        jobs = 1
        print(f"sipqual: error: {e}", file=sys.stderr)
        argv += ["--tb=no", "--no-summary", "-qq"]
    if jobs > 1 and importlib.util.find_spec("xdist") is None:
        print(f"sipqual: pytest-xdist is not installed: --jobs {jobs} ignored, one lab", file=sys.stderr)
        jobs = 1
    if jobs > 1:  # parallel labs, one per pytest-xdist worker (README "Parallel runs", sipqual.parallel)
        argv += ["-n", str(jobs)]
    if args.reports:
        argv += ["--sipqual-reports", str(args.reports)]
    for t in args.transport or ():
        argv += ["--transport", t]
    argv += ["--durations-profile", args.durations]
    if getattr(args, "destructive", False):
        argv += ["--sipqual-destructive"]

    class _Run:  # learns this run's directory from the plugin
        run_dir = None

        @pytest.hookimpl(trylast=True)
        def pytest_configure(self, config):
            self.run_dir = plugin_run_dir(config)

    run = _Run()
    code = int(pytest.main(argv + extra, plugins=[run]))
    interrupts.release()  # pytest stopped before the plugin released it (a usage error)
    with interrupts.finishing():  # a signal now is noted; the report is still rendered
        if run.run_dir is not None and (run.run_dir / "results.json").exists():
            print(f"sipqual: results: {(run.run_dir / 'results.json').resolve()}")
            _render(run.run_dir)
    if interrupts.interrupted():
        return interrupts.EXIT_INTERRUPTED
    if problem is not None:
        return 2
    return code if code in (0, 1, 2, interrupts.EXIT_INTERRUPTED) else 2


def cmd_verify(args, extra: list[str]) -> int:
    """A capture: passive rules on the DUT's messages. A run directory: every case judged again from its evidence."""
    _no_extra(extra)
    if args.capture.is_dir():
        from .replay import reverify_run

        rows = reverify_run(args.capture)
        if args.json:
            print(json.dumps([{"id": r.id, "transport": r.transport, "recorded": r.recorded,
                               "recomputed": r.recomputed, "agrees": r.agrees, "note": r.note} for r in rows], indent=2))
        else:
            for r in rows:
                print(r.line())
            differ = [r for r in rows if not r.agrees]
            print(f"{len(rows)} case(s), {len(differ)} verdict(s) differ from the capture")
        return 1 if any(not r.agrees for r in rows) else 0
    if not args.capture.exists():
        raise UsageError(f"capture {args.capture} does not exist")
    from .profile import load_profile
    from .verify import verify_capture, write_verify_results, now_iso

    started = now_iso()
    profile = load_profile(args.dut) if args.dut else None
    keylog = Path(args.keylog) if args.keylog else None
    trace, findings, result = verify_capture(args.capture, keylog, args.tls_port, args.tcp_port, args.dut_ip, profile,
                                             args.lync, tls_key=args.tls_key)
    if args.results:
        path = write_verify_results(args.results, profile, result, started, trace)
        print(f"sipqual: results: {path.resolve()}", file=sys.stderr)
    if args.json:
        print(json.dumps({"capture": str(args.capture), "sip_messages": len(trace.sip), "rtp_streams": len(trace.rtp),
                          "rtp_packets": trace.media.packets,
                          "verdict": result.verdict, "reason": result.reason, "reader_findings": trace.findings,
                          "findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        print(f"{args.capture}: {len(trace.sip)} SIP messages, {len(trace.rtp)} RTP streams "
              f"({trace.media.packets} packets)")
        for f in trace.findings:
            print(f"  reader: {f}")
        for f in findings:
            print(f"  {f.severity} {'held' if f.ok else 'VIOLATED'} {f.message}")
        print(f"  {result.verdict}: {result.reason}")
    return VERIFY_EXIT.get(result.verdict, 2)


# `sipqual verify CAPTURE` exit codes: FAIL (the capture shows a violation) is not ERROR (we could not find out)
VERIFY_EXIT = {"PASS": 0, "FAIL": 1, "ERROR": 2}


def cmd_pki(args, extra: list[str]) -> int:
    """A lab PKI for real gear, made once: the device trusts its CA for good (a per-run CA would mean
    reconfiguring the device before every run)."""
    from .pki import PkiError, create_pki

    if (args.dir / "ca.crt").exists():
        print(f"sipqual: error: {args.dir} already holds a PKI (ca.crt); refusing to overwrite it", file=sys.stderr)
        return 2
    try:
        names = [args.pool] + ([args.server] if args.server else [])
        pki = create_pki(args.dir, {
            "mediation": {"cn": args.pool, "dns": names + [n for n in args.name if n not in names],
                          "ips": args.ms_ip, "days": args.days},
            "dut": {"cn": args.dut, "dns": [args.dut], "ips": args.dut_ip, "days": args.days}})
    except PkiError as e:
        print(f"sipqual: error: {e}", file=sys.stderr)
        return 2
    med = pki.certs["mediation"]
    print(f"CA (install as trusted on the device): {pki.ca.cert} ({pki.ca.subject_cn})")
    print(f"Mediation certificate names (the device must reach the Mediation side by one of them): "
          f"{', '.join(med.san_dns + med.san_ip)}")
    print(f"device certificate and key (install on the device): {pki.certs['dut'].cert} {pki.certs['dut'].key}")
    print("profile, pixit.mediation.tls:")
    print(f"  cert: {pki.certs['mediation'].cert}\n  key: {pki.certs['mediation'].key}\n  ca: {pki.ca.cert}")
    return 0


def _render(run_dir: Path) -> None:
    """Render the report of a run; the HTML path is always the last line printed."""
    from .report import render_report

    r = render_report(run_dir)
    if r.pdf:
        print(f"sipqual: pdf: {r.pdf}")
    if r.note:
        print(f"sipqual: {r.note}", file=sys.stderr)
    print(f"sipqual: report: {r.html}")


def _no_extra(extra: list[str]) -> None:
    if extra:
        raise UsageError(f"unrecognized arguments: {' '.join(extra)}")


def cmd_report(args, extra: list[str]) -> int:
    _no_extra(extra)
    _render(args.run_dir)
    return 0


def cmd_bundle(args, extra: list[str]) -> int:
    from .report.bundle import write_bundle

    _no_extra(extra)
    if not (args.run_dir / "report.html").exists():
        _render(args.run_dir)
    path, n, withheld = write_bundle(args.run_dir, args.output, args.include_secrets)
    kept_out = f"; {withheld} secret file(s) left out, --include-secrets adds them" if withheld else ""
    print(f"sipqual: bundle: {path} ({n} files{kept_out})")
    return 0


def cmd_verify_bundle(args, extra: list[str]) -> int:
    from .report.bundle import verify_bundle

    _no_extra(extra)
    return verify_bundle(args.archive)


def main(argv: list[str] | None = None) -> int:
    interrupts.install()  # first: SIGTERM ends a command like Ctrl-C (children stopped, temporary files removed)
    interrupts.hold()     # until the command is known: `qualify` keeps holding (see cmd_qualify)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("sipqual: interrupted", file=sys.stderr)
        return interrupts.EXIT_INTERRUPTED
    finally:
        if argv is not None:  # called in-process (tests): restore the handlers; as the command itself keep them, so
            interrupts.uninstall()  # a late second Ctrl-C cannot kill the interpreter while it exits


def _main(argv: list[str] | None) -> int:
    p = argparse.ArgumentParser(prog="sipqual", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("qualify", help="run the qualification suites against a DUT profile")
    q.add_argument("--dut", default=str(ROOT / "lab" / "duts" / "reference-sbc.yaml"), type=Path)
    q.add_argument("--reports", type=Path, default=None, help="reports root (default ./reports)")
    q.add_argument("--transport", action="append", choices=("tcp", "tls"), default=None,
                   help="run one transport's cases only (repeatable), e.g. for a device with one trunk per transport")
    q.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="parallel labs (pytest-xdist workers, each with its own namespaces and DUT); default "
                        "min(4, CPU count); external gear always runs 1")
    q.add_argument("--destructive", action="store_true",
                   help="run the destructive robustness cases (suite ROB) against real gear too (the managed lab "
                        "always does; pixit.destructive: true in the profile does the same)")
    q.add_argument("--durations", choices=("quick", "full"), default="quick",
                   help="quick (default): short calls and holds, the protocol's minimum timers; full: the catalogue's "
                        "durations (40-minute call, 90 s hold), the only profile that earns a listing mark")
    v = sub.add_parser("verify", help="check a capture offline, or judge a saved run again from its evidence")
    v.add_argument("capture", type=Path, metavar="CAPTURE|RUN_DIR")
    v.add_argument("--dut", default=None, help="DUT profile: its addresses and ports tell which traffic is the DUT's")
    v.add_argument("--results", type=Path, default=None, help="also write results.json (the run shape) into this folder")
    v.add_argument("--keylog", default=None, help="NSS key log (SSLKEYLOGFILE) to decrypt the TLS legs")
    v.add_argument("--tls-key", type=Path, default=None, metavar="FILE",
                   help="server RSA private key (PEM) for TLS with RSA key exchange (Wireshark's tls.keys_list)")
    v.add_argument("--tls-port", type=int, action="append", default=[], help="TCP port carrying SIP over TLS")
    v.add_argument("--tcp-port", type=int, action="append", default=[], help="TCP port carrying SIP")
    v.add_argument("--dut-ip", action="append", default=[], help="address of the device to judge (default: all)")
    v.add_argument("--json", action="store_true")
    v.add_argument("--lync", action="store_true", help="also apply the Lync-profile rules (implied by --dut)")
    k = sub.add_parser("pki", help="make a lab CA, Mediation pool and device certificates for real gear")
    k.add_argument("dir", type=Path)
    k.add_argument("--pool", required=True, help="Mediation pool FQDN (the certificate's CN and first SAN)")
    k.add_argument("--server", default=None, help="Mediation server FQDN (second SAN)")
    k.add_argument("--name", action="append", default=[], metavar="FQDN",
                   help="another DNS name for the Mediation certificate's SAN (repeatable)")
    k.add_argument("--ms-ip", action="append", default=[], metavar="ADDR",
                   help="Mediation address for the Mediation certificate's SAN, for devices that verify the server "
                        "certificate by IP (repeatable)")
    k.add_argument("--dut", required=True, help="the device's FQDN")
    k.add_argument("--dut-ip", action="append", default=[], help="an address of the device for its SAN")
    k.add_argument("--days", type=int, default=365, help="certificate validity (default 365)")
    r = sub.add_parser("report", help="render the HTML (and PDF) report of a saved run; prints the HTML path")
    r.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    b = sub.add_parser("bundle", help="write a run's evidence bundle (tar.gz with SHA-256 manifest, no secrets)")
    b.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    b.add_argument("-o", "--output", type=Path, default=None,
                   help="archive path (default: RUN_DIR.sipqual-bundle.tar.gz next to RUN_DIR)")
    b.add_argument("--include-secrets", action="store_true", help="also bundle private keys (never by default)")
    vb = sub.add_parser("verify-bundle", help="check a bundle's digests and re-judge every case from its captures")
    vb.add_argument("archive", type=Path, metavar="ARCHIVE")
    args, extra = p.parse_known_args(argv)
    if args.cmd != "qualify":
        interrupts.release()
        interrupts.checkpoint()
    try:
        return {"qualify": cmd_qualify, "verify": cmd_verify, "pki": cmd_pki, "report": cmd_report,
                "bundle": cmd_bundle, "verify-bundle": cmd_verify_bundle}[args.cmd](args, extra)
    except SipqualError as e:
        print(f"sipqual: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
