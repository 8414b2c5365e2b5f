"""Topology diagram (SVG) of a run: Mediation pool emulation, DUT, far end; FQDNs, addresses, listening ports,
transports on each leg, and the certificates each TLS peer presents (subject, SAN, issuer).

Built from results.json ``lab.topology`` (schema 1.1); for older runs from the profile's PIXIT, without addresses.
"""

from __future__ import annotations

import textwrap

from .svg import clip, svg, text

BOX_W, BOX_GAP, TOP = 270, 170, 40
MONO = "DejaVu Sans Mono, monospace"


def _cert_lines(certs: list[dict], role_prefix: str) -> list[str]:
    for c in certs:
        if str(c.get("role", "")).startswith(role_prefix):
            san = textwrap.wrap("SAN: " + (", ".join(c.get("san") or []) or "none"), int((BOX_W - 24) / 5.6),
                                subsequent_indent="  ")
            return [f"cert subject: {c.get('subject') or '?'}", *san, f"issuer: {c.get('issuer') or '?'}"]
    return []


def _box(x: float, title: str, lines: list[tuple[str, bool]], cert: list[str], fill: str) -> tuple[list[str], float]:
    """A node box; ``lines`` are (text, monospace). Returns its SVG parts and height."""
    h = 34 + 16 * len(lines) + (14 * len(cert) + 10 if cert else 0) + 8
    out = [f'<rect x="{x}" y="{TOP}" width="{BOX_W}" height="{h}" rx="8" fill="{fill}" stroke="#5d6d7e"/>',
           text(x + BOX_W / 2, TOP + 22, title, size=13, weight="bold", anchor="middle")]
    y = TOP + 40
    for line, mono in lines:
        out.append(text(x + 12, y, clip(line, BOX_W - 24), size=11, family=MONO if mono else None, title=line))
        y += 16
    if cert:
        y += 4
        out.append(f'<line x1="{x + 10}" y1="{y - 10}" x2="{x + BOX_W - 10}" y2="{y - 10}" stroke="#c0c8d0"/>')
        for line in cert:
            out.append(text(x + 12, y, clip(line, BOX_W - 24, 5.6), size=10, fill="#444", title=line))
            y += 14
    return out, h


def _link(x0: float, x1: float, y: float, labels: list[str]) -> list[str]:
    out = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#34495e" stroke-width="2"/>',
           f'<path d="M{x1},{y} l-8,-4 v8 z" fill="#34495e"/>', f'<path d="M{x0},{y} l8,-4 v8 z" fill="#34495e"/>']
    for i, label in enumerate(labels):
        out.append(text((x0 + x1) / 2, y - 8 - 13 * (len(labels) - 1 - i), clip(label, x1 - x0 - 4, 5.8), size=10,
                        anchor="middle", fill="#1b2631", title=label))
    return out


def topology_svg(topology: dict, profile: dict | None) -> str:
    """The diagram; unknown values are shown as "?"."""
    pixit = (profile or {}).get("pixit") or {}
    ms = {**(pixit.get("mediation") or {}), **(topology.get("mediation") or {})}
    dut = {**(pixit.get("dut") or {}), **(topology.get("dut") or {})}
    far = {**(pixit.get("far") or {}), **(topology.get("far") or {})}
    transports = topology.get("transports") or pixit.get("transports") or []
    certs = topology.get("certificates") or []
    ms_ports, dut_ports = ms.get("ports") or {}, dut.get("ports") or {}
    ms_lines = [(f"pool {ms.get('pool_fqdn', '?')}", False), (f"server {ms.get('server_fqdn', '?')}", False),
                (f"address {ms.get('address', '?')}", True)]
    ms_lines += [(f"listens {t.upper()} {ms_ports.get(t, '?')}", True) for t in transports]
    dut_lines = [(f"FQDN {dut.get('fqdn', '?')}", False),
                 (f"Mediation side {dut.get('address_ms_side', dut.get('address', '?'))}", True),
                 (f"far side {dut.get('address_far_side', '?')}", True)]
    dut_lines += [(f"listens {t.upper()} {dut_ports.get(t, '?')}", True) for t in transports]
    far_lines = [(f"address {far.get('address', '?')}", True),
                 (f"{str(far.get('transport', '?')).upper()} port {far.get('port', '?')}", True)]
    xs = [20, 20 + BOX_W + BOX_GAP, 20 + 2 * (BOX_W + BOX_GAP)]
    parts, heights = [], []
    for x, title, lines, cert, fill in (
            (xs[0], "Mediation Server pool (sipqual)", ms_lines, _cert_lines(certs, "Mediation"), "#e8f1fb"),
            (xs[1], "DUT", dut_lines, _cert_lines(certs, "DUT"), "#f7f0dc"),
            (xs[2], "Far end: PSTN / PBX (sipqual)", far_lines, [], "#eaf5ea")):
        box, h = _box(x, title, lines, cert, fill)
        parts += box
        heights.append(h)
    y = TOP + 48
    ms_leg = [f"{t.upper()}: MS {ms_ports.get(t, '?')} / DUT {dut_ports.get(t, '?')}" for t in transports]
    if "tls" in transports:
        ms_leg.append("mutual TLS")
    parts += _link(xs[0] + BOX_W, xs[1], y, ms_leg or ["?"])
    parts += _link(xs[1] + BOX_W, xs[2], y, [f"{str(far.get('transport', '?')).upper()} {far.get('port', '?')}",
                                             "SIP + RTP"])
    ca = next((c for c in certs if c.get("role") == "trusted CA"), None)
    height = TOP + max(heights) + 20
    if ca:
        parts.append(text(20, height, f"Trusted CA: {ca.get('subject', '?')}", size=10, fill="#444"))
        height += 12
    parts.insert(0, text(20, 22, f"Lab: {topology.get('kind', 'managed')} DUT; capture on "
                         f"{', '.join(topology.get('capture_interfaces') or ['both DUT legs'])}", size=11,
                         fill="#444"))
    return svg(xs[2] + BOX_W + 20, height + 10, parts, "Topology", "topology")
