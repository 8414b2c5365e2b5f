"""TLS findings from the TLS edge's own record of each handshake with the DUT (mutual TLS both ways) and from the
handshakes in the capture.

The edge (:mod:`sipqual.tlsedge`) writes one JSON line per handshake; these lines are evidence files of the case,
so a saved run is judged again from them exactly as it was live.

Rules and why:

- TLS-01 (DUT presents its certificate): as TLS server always. As TLS *client* it is the Lync profile's demand
  (mutual TLS on the gateway link), not a TLS requirement: checked only where a profile asks for it
  (``client_cert=True``: every lab case, ``sipqual verify --dut/--lync``), and labelled "Lync profile".
- TLS-02 positive (the DUT accepts the Mediation certificate): when the DUT refuses our certificate -- a TLS alert
  from the DUT (unknown_ca, bad_certificate, ...), or it closes the connection right after the handshake without
  sending a byte -- the handshake did not succeed, so TLS-01/TLS-02 cannot PASS. It is a FAIL, not an ERROR: the
  profile names the CA the device trusts (``pixit.mediation.tls`` or the run's lab CA installed by the managed DUT's
  configuration) and our certificate names the pool FQDN (and the Mediation address when ``sipqual pki --ms-ip``
  put it there), so a refusal the capture or the edge shows is the device not meeting the requirement as
  configured. The message carries the alert and frame and a one-line hint (does the device trust <CA> and accept
  <names>?), because the usual cause on real gear is configuration. Where nobody states what the device trusts
  (``sipqual verify`` without a profile) a refusal is recorded (severity I), since refusing a bad certificate is
  exactly what TLS-02's negative half asks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .tlsrecords import CERT_REFUSALS
from .verdict import Finding, passed, violation

LYNC = "[Lync profile: mutual TLS on the gateway link]"


def read_events(paths: list[Path]) -> list[dict]:
    out = []
    for path in paths:
        if Path(path).exists():
            out += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return out


def _alert(ev: dict) -> str | None:
    """The TLS alert the peer sent, from OpenSSL's reason (``TLSV1_ALERT_UNKNOWN_CA`` -> ``unknown_ca``)."""
    m = re.search(r"ALERT_([A-Z0-9_]+)", f"{ev.get('ssl_reason') or ''} {ev.get('error') or ''}")
    return m.group(1).lower() if m else None


def refusal_hint(ca: str | None, names: list[str] | None) -> str:
    return (f"does the device trust {ca or 'the CA of pixit.mediation.tls'} and accept "
            f"{', '.join(names) if names else 'the pool FQDN (or the Mediation address)'}?")


def refused(who: str, how: str, hint: str, frames=None, severity: str = "M") -> Finding:
    return violation("TLS-02", ["TLS-01", "TLS-02"], severity,
                     "the DUT to accept our certificate (TLS-02 positive: the handshake with the pool certificate "
                     "succeeds)", f"the {who} refused it: {how}; hint: {hint}", frames)


def tls_findings(events: list[dict], client_cert: bool = True) -> list[Finding]:
    """Findings from the edge's events (each edge process's ``listening`` line names our certificate)."""
    out = []
    own = {ev.get("pid"): ev for ev in events if ev.get("event") == "listening"}
    ok_conns = {(ev.get("pid"), ev.get("conn")) for ev in events if ev.get("event") == "handshake_ok"}
    for ev in events:
        mine = own.get(ev.get("pid"), {})
        hint = refusal_hint(mine.get("own_cert_issuer"), mine.get("own_cert_san"))
        server = ev.get("mode") == "client"   # our edge is the TLS client: the DUT is the server
        who = "DUT as TLS server" if server else "DUT as TLS client"
        if ev.get("event") == "handshake_ok":
            subject = ev.get("peer_cert_subject") or ""
            if not subject:
                if server or client_cert:
                    out.append(violation("TLS-01", "TLS-01", "M", f"a certificate from the {who}"
                                         + ("" if server else f" {LYNC}"), "none"))
            else:
                out.append(passed("TLS-01", "TLS-01", "M", f"{who}: {ev.get('version')} {ev.get('cipher')}, "
                                  f"certificate {subject} (SAN {ev.get('peer_cert_san')})"
                                  + ("" if server else f" {LYNC}")))
        elif ev.get("event") == "handshake_failed":
            alert = _alert(ev)
            if alert == "certificate_required" or not server and "PEER_DID_NOT_RETURN" in str(ev.get("ssl_reason")):
                if client_cert:
                    out.append(violation("TLS-01", "TLS-01", "M", f"a client certificate from the DUT {LYNC}",
                                         f"none: {ev.get('error')}"))
            elif alert in CERT_REFUSALS:
                out.append(refused(who, f"TLS alert {alert} during the handshake (edge connection "
                                        f"{ev.get('conn')})", hint))
            else:
                out.append(violation("TLS-01", "TLS-01", "M", f"a mutual TLS handshake with the {who}",
                                     f"failure: {ev.get('error')}"))
        elif (ev.get("event") == "closed" and server and (ev.get("pid"), ev.get("conn")) in ok_conns
              and not ev.get("bytes_tls_to_plain") and ev.get("reason") in ("tls_error", "tls_eof")):
            # TLS 1.3: the client's handshake completes before the server has checked the client's certificate;
            # a refusal arrives as an alert, or as the connection closing without a byte, right afterwards
            alert = _alert(ev)
            if alert == "certificate_required":
                continue   # we always present one; nothing for the DUT to blame
            how = (f"TLS alert {alert} right after our certificate" if alert else
                   f"it closed the connection right after our certificate without sending a byte ({ev.get('error')})")
            out.append(refused(who, how + f" (edge connection {ev.get('conn')})", hint))
    return out


def wire_findings(conns, dut_addresses: set[str], dut_fqdn: str | None = None,
                  decrypted: bool = False, client_cert: bool = True, hint: str | None = None) -> list[Finding]:
    """TLS-01, TLS-02 and TLS-03 from the handshakes in the capture (:func:`sipqual.tlsfacts.read_tls_facts`): the
    DUT presents a certificate in every handshake it takes part in as server (and, when the Lync profile applies,
    ``client_cert``, as client); it does not refuse ours with an alert; its certificate names the DUT's FQDN.
    TLS 1.3 encrypts certificates and alerts: without the key log nothing is concluded from those. ``hint`` is
    None where no profile states what the device trusts: a refusal is then recorded, not failed."""
    out = []
    for c in conns:
        host = {"server": c.server.rsplit(":", 1)[0], "client": c.client.rsplit(":", 1)[0]}
        # the server asked for a client certificate and got none (a probe of mutual TLS, TC-TRN-03): the DUT as
        # server refusing that client is what mutual TLS demands, never a fault
        bare = getattr(c, "cert_requested", False) and not c.client_certs
        for frame, sender, alert in getattr(c, "alerts", []):
            if sender.rsplit(":", 1)[0] not in dut_addresses or alert in ("close_notify", "user_canceled"):
                continue
            if bare and sender == c.server:
                continue
            who = "DUT as TLS " + ("server" if sender == c.server else "client")
            if alert in CERT_REFUSALS:
                out.append(refused(who, f"TLS alert {alert} ({c.client} -> {c.server})",
                                   hint or refusal_hint(None, None), [frame], "M" if hint else "I"))
            else:
                out.append(violation("TLS-01", "TLS-01", "M" if hint else "I", f"a TLS handshake with the {who} "
                                     f"({c.client} -> {c.server})", f"aborted with TLS alert {alert}", [frame]))
        alerted = {sender for _, sender, _ in getattr(c, "alerts", [])}
        for frame, sender in getattr(c, "silent_closes", []):
            if sender.rsplit(":", 1)[0] in dut_addresses and sender not in alerted and not (bare and sender == c.server):
                who = "DUT as TLS " + ("server" if sender == c.server else "client")
                out.append(refused(who, f"it closed the connection right after our certificate without sending a "
                                        f"byte ({c.client} -> {c.server})", hint or refusal_hint(None, None),
                                   [frame], "M" if hint else "I"))
        if not c.version or c.version == "TLS 1.3" and (not decrypted or not c.server_certs and not c.client_certs):
            continue   # TLS 1.3 certificates are encrypted: none seen at all means the key log did not match
        for role, certs in (("server", c.server_certs), ("client", c.client_certs)):
            if host[role] not in dut_addresses:
                continue
            label = f" {LYNC}" if role == "client" else ""
            if not certs:
                if role == "server" or client_cert:
                    out.append(violation("TLS-01", "TLS-01", "M", f"the DUT's certificate in its handshake as TLS "
                                         f"{role}{label} ({c.client} -> {c.server})", "none on the wire",
                                         c.frames[:1]))
                continue
            leaf = certs[0]
            out.append(passed("TLS-01", "TLS-01", "M", f"on the wire, DUT as TLS {role}{label}: {c.version} "
                              f"{c.cipher}, certificate {leaf['subject']} issued by {leaf['issuer']}", c.frames[-1:]))
            if dut_fqdn:
                names = [n.lower() for n in leaf.get("san_dns", [])] or [leaf.get("subject_cn", "").lower()]
                if dut_fqdn.lower() not in names:
                    out.append(violation("TLS-03", "TLS-03", "R", f"the DUT's certificate naming {dut_fqdn}",
                                         f"names {', '.join(names) or 'none'}", c.frames[-1:]))
                else:
                    out.append(passed("TLS-03", "TLS-03", "R", f"DUT certificate names {dut_fqdn}", c.frames[-1:]))
    return out


def probe_clients(path: Path | None) -> set[str]:
    """The client addresses (ip:port) of a TLS probe's attempts (:mod:`sipqual.tlsprobe` record, ``local``): their
    handshakes are the stimulus of a case that offers the DUT what it must refuse (TC-TRN-05/06, TC-SEC-04), judged
    by that case's own check, never by the passive handshake rules."""
    if path is None or not Path(path).exists():
        return set()
    return {r["local"] for r in json.loads(Path(path).read_text()) if r.get("local")}


def capture_tls_findings(capture: Path, keylog: Path | None, tls_ports, dut_addresses: set[str],
                         dut_fqdn: str | None, skip_clients=()) -> list[Finding]:
    """Read the handshakes of a capture and judge them (live after each TLS case, and again on replay: a profile
    applies to both); connections from ``skip_clients`` (:func:`probe_clients`) are left to the case's check."""
    from .tlsfacts import read_tls_facts

    conns = [c for c in read_tls_facts(capture, keylog, tls_ports) if c.client not in set(skip_clients)]
    return wire_findings(conns, dut_addresses, dut_fqdn, decrypted=bool(keylog and Path(keylog).exists()),
                         hint=refusal_hint(None, None))
