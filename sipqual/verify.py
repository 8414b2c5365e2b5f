"""Offline verification: ``sipqual verify`` on a capture from anywhere, or on a saved sipqual run.

A capture (a vendor's evidence, a field trace, a file Wireshark saved) gets the passive rules on every message of
the device under test; the result has the results.json shape, with one case ``VERIFY``. A run directory gets every
case judged again from its own evidence (:mod:`sipqual.replay`), and the answer says which verdicts differ.
"""

from __future__ import annotations

from pathlib import Path

from .results import CaseResult, now_iso, one_line, write_results
from .rules import LIVE_PROFILES, RFC_ONLY, run_passive
from .trace import Trace, read_trace
from .verdict import Finding, Verdict, failures


def profile_view(profile) -> tuple[set[str], list[int], list[int]]:
    """DUT addresses, TLS ports and TCP ports a profile implies for reading a capture."""
    from .lab import Lab

    p = profile.pixit
    if profile.managed:
        dut = {Lab.DUT_MS_IP, Lab.DUT_FAR_IP}
    else:
        dut = {a for a in (p["dut"].get("address"), p["far"].get("dut_address")) if a}
    tls = sorted({p["dut"]["ports"]["tls"], p["mediation"]["ports"]["tls"]})
    tcp = sorted({p["dut"]["ports"]["tcp"], p["mediation"]["ports"]["tcp"]} - set(tls))
    return dut, tls, tcp


def verify_capture(capture: Path, keylog: Path | None = None, tls_ports=(), tcp_ports=(), dut_ips=(),
                   profile=None, lync: bool = False) -> tuple[Trace, list[Finding], CaseResult]:
    """Judge a capture. The RFC rules always apply; the Lync-profile rules (e.g. "MED-03 (Lync profile)") only with
    ``lync`` or a DUT ``profile``. Without DUT addresses every sender is judged, each as its own device."""
    dut, tls, tcp = set(dut_ips), list(tls_ports), list(tcp_ports)
    if profile is not None:
        p_dut, p_tls, p_tcp = profile_view(profile)
        dut, tls, tcp = dut or p_dut, tls or p_tls, tcp or p_tcp
    trace = read_trace(capture, keylog, tls, tcp)
    every_sender = not dut
    dut = dut or {p.src for p in trace.sip}
    profiles = LIVE_PROFILES if (lync or profile is not None) else RFC_ONLY
    findings = run_passive(trace, dut, profiles, every_sender=every_sender)
    if tls or keylog:  # TLS facts (version, cipher, certificates on the wire), decrypted with the key log where needed
        from .tlsfacts import read_tls_facts
        from .tlsfindings import wire_findings

        fqdn = profile.pixit["dut"]["fqdn"] if profile is not None else None
        findings += wire_findings(read_tls_facts(capture, keylog, tls), dut, fqdn,
                                  decrypted=bool(keylog and Path(keylog).exists()))
    judged = [p for p in trace.sip if p.src in dut]
    bad = failures(findings, ("M",))
    if not judged:
        verdict, reason = Verdict.ERROR, f"no SIP message from {', '.join(sorted(dut)) or 'the DUT'} in the capture"
    elif bad:
        verdict, reason = Verdict.FAIL, bad[0].message + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
    else:
        verdict, reason = Verdict.PASS, f"passive rules held on {len(judged)} DUT messages"
    if trace.findings:
        reason += f"; reader: {trace.findings[0]}"
    reqs = sorted({r for f in findings for r in f.requirements})
    result = CaseResult("VERIFY", f"offline verification of {Path(capture).name}", reqs, None, verdict.value,
                        one_line(reason), evidence=[str(capture)] + ([str(keylog)] if keylog else []),
                        findings=[f.as_dict() for f in findings] + [
                            {"rule": "READER", "requirements": [], "severity": "I", "message": m, "frames": [],
                             "ok": False} for m in trace.findings])
    return trace, findings, result


def write_verify_results(out_dir: Path, profile, result: CaseResult, started: str, trace: Trace) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_results(out_dir, profile, [result], started,
                         {"kind": "offline", "capture": {"path": str(trace.path), "sip_messages": len(trace.sip),
                                                         "rtp_streams": len(trace.rtp),
                                                         "rtp_packets": trace.media.packets}})


__all__ = ["verify_capture", "write_verify_results", "profile_view", "now_iso"]
