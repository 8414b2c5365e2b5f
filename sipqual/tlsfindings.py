"""TLS-01 findings from the TLS edge's own record of each handshake with the DUT (mutual TLS both ways).

The edge (:mod:`sipqual.tlsedge`) writes one JSON line per handshake; these lines are evidence files of the case,
so a saved run is judged again from them exactly as it was live.
"""

from __future__ import annotations

import json
from pathlib import Path

from .verdict import Finding, passed, violation


def read_events(paths: list[Path]) -> list[dict]:
    out = []
    for path in paths:
        if Path(path).exists():
            out += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return out


def tls_findings(events: list[dict]) -> list[Finding]:
    out = []
    for ev in events:
        who = "DUT as TLS server" if ev.get("mode") == "client" else "DUT as TLS client"
        if ev.get("event") == "handshake_ok":
            subject = ev.get("peer_cert_subject") or ""
            if not subject:
                out.append(violation("TLS-01", "TLS-01", "M", f"a certificate from the {who}", "none"))
            else:
                out.append(passed("TLS-01", "TLS-01", "M", f"{who}: {ev.get('version')} {ev.get('cipher')}, "
                                  f"certificate {subject} (SAN {ev.get('peer_cert_san')})"))
        elif ev.get("event") == "handshake_failed":
            out.append(violation("TLS-01", "TLS-01", "M", f"a mutual TLS handshake with the {who}",
                                 f"failure: {ev.get('error')}"))
    return out


def wire_findings(conns, dut_addresses: set[str], dut_fqdn: str | None = None,
                  decrypted: bool = False) -> list[Finding]:
    """TLS-01 and TLS-03 from the handshakes in the capture (:func:`sipqual.tlsfacts.read_tls_facts`): the DUT
    presents a certificate in every handshake it takes part in, as server and as client (mutual TLS), and that
    certificate names the DUT's FQDN. TLS 1.3 encrypts certificates: without the key log nothing is concluded."""
    out = []
    for c in conns:
        if not c.version or (c.version == "TLS 1.3" and not decrypted):
            continue
        host = {"server": c.server.rsplit(":", 1)[0], "client": c.client.rsplit(":", 1)[0]}
        for role, certs in (("server", c.server_certs), ("client", c.client_certs)):
            if host[role] not in dut_addresses:
                continue
            if not certs:
                out.append(violation("TLS-01", "TLS-01", "M", f"the DUT's certificate in its handshake as TLS {role} "
                                     f"({c.client} -> {c.server})", "none on the wire", c.frames[:1]))
                continue
            leaf = certs[0]
            out.append(passed("TLS-01", "TLS-01", "M", f"on the wire, DUT as TLS {role}: {c.version} {c.cipher}, "
                              f"certificate {leaf['subject']} issued by {leaf['issuer']}", c.frames[-1:]))
            if dut_fqdn:
                names = [n.lower() for n in leaf.get("san_dns", [])] or [leaf.get("subject_cn", "").lower()]
                if dut_fqdn.lower() not in names:
                    out.append(violation("TLS-03", "TLS-03", "R", f"the DUT's certificate naming {dut_fqdn}",
                                         f"names {', '.join(names) or 'none'}", c.frames[-1:]))
                else:
                    out.append(passed("TLS-03", "TLS-03", "R", f"DUT certificate names {dut_fqdn}", c.frames[-1:]))
    return out


def capture_tls_findings(capture: Path, keylog: Path | None, tls_ports, dut_addresses: set[str],
                         dut_fqdn: str | None) -> list[Finding]:
    """Read the handshakes of a capture and judge them (live after each TLS case, and again on replay)."""
    from .tlsfacts import read_tls_facts

    conns = read_tls_facts(capture, keylog, tls_ports)
    return wire_findings(conns, dut_addresses, dut_fqdn, decrypted=bool(keylog and Path(keylog).exists()))
