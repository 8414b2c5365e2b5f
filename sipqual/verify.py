"""Offline verification: ``sipqual verify`` on a capture from anywhere, or on a saved sipqual run.

A capture (a vendor's evidence, a field trace, a file Wireshark saved) gets the passive rules on every message of
the device under test; the result has the results.json shape, with one case ``VERIFY``. TLS legs that could not
be decrypted and truncated files are reported and keep the verdict from PASS (:func:`verify_capture`). A run
directory gets every case judged again from its own evidence (:mod:`sipqual.replay`), and the answer says which
verdicts differ.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError
from .results import CaseResult, now_iso, one_line, write_results
from .rules import LIVE_PROFILES, RFC_ONLY, run_passive
from .tlsrecords import describe, keylog_randoms
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


def _tls_key(path) -> Path | None:
    """``--tls-key``: a PEM RSA private key (Wireshark's RSA keys list); anything else is a one-line usage error."""
    if not path:
        return None
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise UsageError(f"--tls-key {path}: {e.strerror or e}") from None
    if "PRIVATE KEY-----" not in text:
        raise UsageError(f"--tls-key {path} is not a PEM private key (no 'BEGIN ... PRIVATE KEY' line)")
    return path


def verify_capture(capture: Path, keylog: Path | None = None, tls_ports=(), tcp_ports=(), dut_ips=(),
                   profile=None, lync: bool = False,
                   tls_key: Path | None = None) -> tuple[Trace, list[Finding], CaseResult]:
    """Judge a capture. The RFC rules always apply; the Lync profile's requirements (e.g. "MED-03 (Lync profile)",
    TLS-01's client certificate from the DUT as TLS client) only with ``lync`` or a DUT ``profile``. Without DUT
    addresses every sender is judged, each as its own device.

    Verdict: FAIL when a mandatory rule is violated; ERROR when nothing of the DUT could be read, or when part of
    the capture could not be judged (a TLS leg not decrypted, a truncated file): "the rules held on what we could
    read" is not a PASS; PASS otherwise."""
    randoms = keylog_randoms(keylog) if keylog is not None else None   # a bad key log is a usage error
    tls_key = _tls_key(tls_key)
    lync = lync or profile is not None
    dut, tls, tcp = set(dut_ips), list(tls_ports), list(tcp_ports)
    if profile is not None:
        p_dut, p_tls, p_tcp = profile_view(profile)
        dut, tls, tcp = dut or p_dut, tls or p_tls, tcp or p_tcp
    trace = read_trace(capture, keylog, tls, tcp, tls_key)
    every_sender = not dut
    dut = dut or {p.src for p in trace.sip}
    findings = run_passive(trace, dut, LIVE_PROFILES if lync else RFC_ONLY, every_sender=every_sender)
    if tls or keylog or trace.tls.conns:  # TLS facts (certificates, alerts on the wire), decrypted where possible
        from .tlsfacts import read_tls_facts
        from .tlsfindings import refusal_hint, wire_findings

        fqdn = profile.pixit["dut"]["fqdn"] if profile is not None else None
        findings += wire_findings(read_tls_facts(capture, keylog, tls), dut, fqdn, decrypted=keylog is not None,
                                  client_cert=lync,
                                  hint=refusal_hint(None, None) if profile is not None else None)
    # SIP's TLS legs: the ports given or implied by the profile, and 5061 (SIP over TLS by default)
    undecrypted = describe(trace.tls.undecrypted(randoms, tls_key is not None, set(tls) | {5061}))
    judged = [p for p in trace.sip if p.src in dut]
    bad = failures(findings, ("M",))
    if bad:
        verdict, reason = Verdict.FAIL, bad[0].message + (f" (+{len(bad) - 1} more)" if len(bad) > 1 else "")
    elif not judged:
        verdict, reason = Verdict.ERROR, f"no SIP message from {', '.join(sorted(dut)) or 'the DUT'} in the capture"
        reason += f"; {undecrypted[0]}" if undecrypted else ""
    elif undecrypted:
        verdict, reason = Verdict.ERROR, (f"incomplete: {len(undecrypted)} TLS connection(s) not judged; "
                                          f"{undecrypted[0]}; the rules held on the {len(judged)} DUT messages read")
    elif trace.truncated:
        verdict, reason = Verdict.ERROR, (f"incomplete: the capture is truncated, so what followed was not judged; "
                                          f"the rules held on the {len(judged)} DUT messages read")
    else:
        verdict, reason = Verdict.PASS, f"passive rules held on {len(judged)} DUT messages"
    if trace.findings:
        reason += f"; reader: {trace.findings[0]}"
    reqs = sorted({r for f in findings for r in f.requirements})
    result = CaseResult("VERIFY", f"offline verification of {Path(capture).name}", reqs, None, verdict.value,
                        one_line(reason), evidence=[str(capture)] + ([str(keylog)] if keylog else []),
                        findings=[f.as_dict() for f in findings] + [
                            {"rule": "READER", "requirements": [], "severity": "I", "message": m, "frames": [],
                             "ok": False} for m in undecrypted + trace.findings])
    return trace, findings, result


def write_verify_results(out_dir: Path, profile, result: CaseResult, started: str, trace: Trace) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_results(out_dir, profile, [result], started,
                         {"kind": "offline", "capture": {"path": str(trace.path), "sip_messages": len(trace.sip),
                                                         "rtp_streams": len(trace.rtp),
                                                         "rtp_packets": trace.media.packets}})


__all__ = ["verify_capture", "write_verify_results", "profile_view", "now_iso"]
