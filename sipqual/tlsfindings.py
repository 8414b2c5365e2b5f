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
