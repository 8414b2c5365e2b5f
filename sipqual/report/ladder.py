"""SIP ladder diagram (SVG) of one capture: every SIP message on both legs of the DUT, in time order.

One column (lifeline) per IP address; the DUT's addresses sit in the middle on a shaded band, the Mediation side on
the left when known. Each row is one message: frame number and time since the first message in the left gutter,
an arrow from sender to receiver labelled with the request line or status, and under it a short SDP summary
(media, connection address:port, codecs, direction, crypto) when the message carries SDP. Labels are clipped to the
arrow length; the full text is in a ``<title>`` (hover in a browser).

Only :class:`sipqual.trace.SipPacket` fields (frame, time, src, dst, sport, dport, transport, msg) are used.
"""

from __future__ import annotations

from ..sdp import parse_sdp
from .svg import clip, svg, text

GUTTER = 150      # left column: frame / time / transport
COL_W = 280       # distance between lifelines
HEAD = 58         # header with the column names
ROW = 30          # one message
SDP_ROW = 13      # extra height for the SDP summary line
MAX_MESSAGES = 400


def sdp_summary(msg) -> str | None:
    """``audio 192.0.2.10:6000 PCMU,PCMA`` per media section (proto when not RTP/AVP, direction when not
    sendrecv, "crypto" with SDES keys), or None without SDP."""
    ctype = (msg.get("Content-Type") or "").split(";")[0].strip().lower()
    if not msg.body or ctype != "application/sdp":
        return None
    sdp = parse_sdp(msg.body)
    parts = []
    for m in sdp.media:
        conn = m.effective_connection
        addr = getattr(conn, "address", None) or "?"
        codecs = ",".join(m.codec_names()).replace("TELEPHONE-EVENT", "tel-event") or ",".join(m.formats)
        extra = [m.proto] if m.proto.upper() != "RTP/AVP" else []    # the usual values are left out
        extra += [m.direction] if m.direction != "sendrecv" else []
        extra += ["crypto"] if m.crypto else []
        parts.append(" ".join([f"{m.kind} {addr}:{m.port}", codecs, *extra]))
    return "SDP: " + ("; ".join(parts) if parts else "no media")


def columns(packets, dut: set[str], left: list[str]) -> list[str]:
    """Lifeline order: ``left`` (Mediation side), then the DUT address facing it, the other DUT addresses, then
    everything else. Without hints, the first DUT address seen and its peers set the orientation."""
    seen: list[str] = []
    for p in packets:
        for a in (p.src, p.dst):
            if a not in seen:
                seen.append(a)
    duts = [a for a in seen if a in dut]
    if not duts:
        return seen
    talks = {a: {p.dst if p.src == a else p.src for p in packets if a in (p.src, p.dst)} for a in seen}
    lhs = [a for a in left if a in seen and a not in dut]
    if not lhs:
        lhs = [a for a in seen if a not in dut and duts[0] in talks[a]]
    duts.sort(key=lambda d: not (talks[d] & set(lhs)))   # the DUT address facing the left side first
    rest = [a for a in seen if a not in lhs and a not in duts]
    return lhs + duts + rest


def _colour(msg) -> str:
    if msg.is_request:
        return "#1f4e9e"
    status = msg.status or 0
    return "#777777" if status < 200 else "#1d7a35" if status < 300 else "#b02a2a"


def _label(msg) -> str:
    """Request: method and R-URI without scheme and parameters; response: status, reason and CSeq method."""
    if msg.is_request:
        uri = (msg.ruri or "").split(";")[0]
        return f"{msg.method} {uri.split(':', 1)[1] if uri.startswith(('sip:', 'sips:', 'tel:')) else uri}".strip()
    return msg.summary()


def ladder_svg(packets, dut: set[str] | None = None, names: dict[str, str] | None = None,
               left: list[str] | None = None, title: str = "SIP ladder", marked: set[int] | None = None) -> str:
    """The ladder of ``packets`` (Trace.sip, in time order) as an ``<svg>`` string; rows of ``marked`` frames
    (cited by a violated rule) get a red band and a ✗."""
    dut, names, left, marked = set(dut or ()), dict(names or {}), list(left or []), set(marked or ())
    shown = list(packets[:MAX_MESSAGES])
    cols = columns(shown, dut, left)
    x = {a: GUTTER + COL_W / 2 + i * COL_W for i, a in enumerate(cols)}
    width = GUTTER + COL_W * max(len(cols), 1)
    rows = [(p, sdp_summary(p.msg)) for p in shown]
    height = HEAD + sum(ROW + (SDP_ROW if s else 0) for _, s in rows) + 30
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    duts = [a for a in cols if a in dut]
    if duts:
        x0, x1 = min(x[a] for a in duts) - COL_W * 0.42, max(x[a] for a in duts) + COL_W * 0.42
        body.append(f'<rect x="{x0:.1f}" y="4" width="{x1 - x0:.1f}" height="{height - 8}" rx="6" fill="#f3efe2"/>')
        body.append(text((x0 + x1) / 2, height - 10, "DUT", size=10, fill="#8a7a3c", anchor="middle", weight="bold"))
    for a in cols:
        role = names.get(a) or ("DUT" if a in dut else "")
        body.append(f'<line x1="{x[a]:.1f}" y1="{HEAD - 8}" x2="{x[a]:.1f}" y2="{height - 22}" stroke="#9aa5b1" '
                    f'stroke-dasharray="4 3"/>')
        body.append(text(x[a], 20, clip(role, COL_W - 10), size=11, anchor="middle", weight="bold", title=role))
        body.append(text(x[a], 36, a, size=11, anchor="middle", family="DejaVu Sans Mono, monospace"))
    body.append(text(8, 36, "frame  time  transport", size=10, fill="#555"))
    t0 = shown[0].time if shown else 0.0
    y = HEAD
    for p, sdp in rows:
        y += ROW
        msg = p.msg
        colour = _colour(msg)
        if p.frame in marked:
            band = ROW + (SDP_ROW if sdp else 0)
            body.append(f'<rect x="2" y="{y - ROW + 10}" width="{width - 4}" height="{band - 2}" fill="#fbe3e3"/>')
        body.append(text(8, y - 2, f"{'✗' if p.frame in marked else ' '}{p.frame:>5}  +{p.time - t0:.3f}s  "
                         f"{p.transport}", size=10, fill="#b02a2a" if p.frame in marked else "#444",
                         family="DejaVu Sans Mono, monospace"))
        xa, xb = x[p.src], x[p.dst]
        full = f"frame {p.frame}: {p.src}:{p.sport} -> {p.dst}:{p.dport} {p.transport}  {msg.summary()}"
        if xa == xb:
            body.append(f'<path d="M{xa:.1f},{y - 8} h30 v10 h-26" fill="none" stroke="{colour}" stroke-width="1.4"/>')
            body.append(text(xa + 36, y - 2, clip(_label(msg), COL_W - 40), fill=colour, title=full))
        else:
            d = 1 if xb > xa else -1
            body.append(f'<line x1="{xa:.1f}" y1="{y}" x2="{xb - d * 7:.1f}" y2="{y}" stroke="{colour}" '
                        f'stroke-width="1.4"/>')
            body.append(f'<path d="M{xb:.1f},{y} l{-d * 8},-4 v8 z" fill="{colour}"/>')
            span = abs(xb - xa)
            body.append(text((xa + xb) / 2, y - 5, clip(_label(msg), span - 12), fill=colour, anchor="middle",
                             weight="bold" if msg.is_request else "normal", title=full))
            if sdp:
                body.append(text((xa + xb) / 2, y + 11, clip(sdp, span - 12, 5.4), size=9.5, fill="#555",
                                 anchor="middle", title=sdp))
        if sdp:
            y += SDP_ROW
    if len(packets) > len(shown):
        body.append(text(8, height - 10, f"{len(packets) - len(shown)} more messages not drawn", size=10,
                         fill="#b02a2a"))
    return svg(width, height, body, f"{title}: {len(shown)} SIP messages", "ladder")
