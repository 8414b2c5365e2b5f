"""The DUT's certificate as the device actually presented it on the wire, for the topology table.

For real gear (``kind: external``) sipqual never holds the device's certificate file, so the report shows what the
device sent in its TLS handshakes: from the TLS edge's own record of each handshake (``verification.tls_events``:
subject, SAN, issuer, SHA-256) and from the handshakes in the first TLS case's capture, decrypted with its key log
(:func:`sipqual.tlsfacts.read_tls_facts`, which adds the validity). One row per certificate and role (the DUT as
TLS server, as TLS client), labelled with the case it was seen in.
"""

from __future__ import annotations

from .rundata import RunData
from .verdicts import label

ROLE = {"client": "as TLS server", "server": "as TLS client"}   # our edge's mode -> the DUT's role


def _from_events(run: RunData, case: dict) -> list[dict]:
    from ..tlsfindings import read_events

    paths = [p for p in ((case.get("verification") or {}).get("tls_events") or []) if run.inside(p)]
    out = []
    for ev in read_events([run.inside(p) for p in paths]):
        if ev.get("event") == "handshake_ok" and ev.get("peer_cert_subject"):
            out.append({"role": f"DUT {ROLE.get(ev.get('mode'), '')} (presented on the wire, {label(case)})",
                        "subject": ev["peer_cert_subject"], "san": list(ev.get("peer_cert_san") or []),
                        "issuer": ev.get("peer_cert_issuer") or "?", "sha256": ev.get("peer_cert_sha256"),
                        "wire": True})
    return out


def _from_capture(run: RunData, case: dict) -> list[dict]:
    v = run.verification(case)
    if v is None or v.keylog is None:
        return []
    from ..tlsfacts import read_tls_facts

    try:
        conns = read_tls_facts(v.capture, v.keylog, v.tls_ports)
    except Exception:  # noqa: BLE001 - a report is still written when a capture cannot be read (the appendix says why)
        return []
    dut = set(v.dut_addresses) or set(run.dut_addresses())
    out = []
    for c in conns:
        for role, ep, certs in (("as TLS server", c.server, c.server_certs), ("as TLS client", c.client, c.client_certs)):
            if certs and ep.rsplit(":", 1)[0] in dut:
                leaf = certs[0]
                out.append({"role": f"DUT {role} (presented on the wire, {label(case)}, frame {c.frames[0]})",
                            "subject": leaf.get("subject"), "san": list(leaf.get("san") or []),
                            "issuer": leaf.get("issuer"), "not_after": leaf.get("not_after"),
                            "sha256": leaf.get("sha256"), "wire": True})
    return out


def wire_certificates(run: RunData) -> list[dict]:
    """The DUT's certificates seen in the run's TLS cases, one row per (role, certificate); the capture's record
    (with the expiry) wins over the edge's for the same certificate."""
    tls_cases = [c for c in run.cases if c.get("transport") == "tls" and c.get("verification")]
    rows: list[dict] = []
    for case in tls_cases:
        rows += _from_events(run, case)
    first = next((c for c in tls_cases if run.verification(c) is not None), None)
    if first is not None:
        rows = _from_capture(run, first) + rows
    seen, out = set(), []
    for r in rows:
        key = (r["role"].split(" (")[0], r.get("sha256") or r.get("subject"))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
