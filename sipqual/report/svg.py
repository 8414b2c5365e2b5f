"""Tiny helpers for writing SVG by hand: escaped text, elements, and clipping text to a width.

Everything that reaches an SVG attribute or text node goes through :func:`esc`, because the text comes from
captures and profiles (a SIP header can carry ``<script>``).
"""

from __future__ import annotations

import html

CHAR_W = 6.4   # average glyph width (px) of the 11 px sans-serif used in diagrams, for clipping labels


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def clip(text: str, width_px: float, char_w: float = CHAR_W) -> str:
    """``text`` cut with an ellipsis so it fits ``width_px`` (approximately; SVG has no text measuring)."""
    limit = max(4, int(width_px / char_w))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text(x: float, y: float, content: str, *, size: float = 11, fill: str = "#222", anchor: str = "start",
         weight: str = "normal", title: str | None = None, family: str | None = None) -> str:
    tip = f"<title>{esc(title)}</title>" if title else ""
    fam = f' font-family="{esc(family)}"' if family else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'font-weight="{weight}"{fam}>{tip}{esc(content)}</text>')


def svg(width: float, height: float, body: list[str], label: str, css_class: str) -> str:
    """A standalone ``<svg>`` element: presentation attributes only (no ``<style>``, which would leak into the
    whole HTML document), so the same markup works inline, in a file, and in print."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(css_class)}" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}" '
            f'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">{"".join(body)}</svg>')
