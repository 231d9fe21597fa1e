"""The report pages' charts, drawn on the server as SVG: no script, nothing from a CDN. Every
bar carries its figures as data attributes (``data-label``, ``data-kind``, ``data-value``) and
a tooltip, so what a bar shows can be read back from the page."""

from __future__ import annotations

from datetime import datetime
from html import escape

COLOURS = {"delivered": "#009e73", "soft": "#e69f00", "hard": "#d55e00", "undeliv": "#0072b2",
           "blocks": "#d55e00", "deferrals": "#e69f00"}
WIDTH = 900


def _bar(x: float, y: float, w: float, h: float, colour: str, label: str, kind: str,
         value: int) -> str:
    return (f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{colour}" data-label="{escape(label)}" data-kind="{escape(kind)}" '
            f'data-value="{value}"><title>{escape(label)} {escape(kind)}: {value}</title></rect>')


def timeline(svg_id: str, buckets: list[tuple[datetime, str, int]], kinds: tuple[str, ...],
             step_s: int) -> str:
    """Bars per bucket start, one per kind side by side, heights to scale with the largest."""
    height, top, bottom, left = 240, 24, 40, 56
    starts = sorted({t for t, _, _ in buckets})
    counts = {(t, k): n for t, k, n in buckets}
    peak = max((n for _, _, n in buckets), default=0)
    parts = [f'<svg id="{svg_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{WIDTH}" height="{height}" role="img" data-step="{step_s}">',
             f'<text x="{left}" y="14" class="caption">per {_step_name(step_s)}, UTC</text>']
    for n, kind in enumerate(kinds):  # legend
        x = WIDTH - 110 * (len(kinds) - n)
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[kind]}"/>'
                     f'<text x="{x + 16}" y="14">{escape(kind)}</text>')
    if not starts:
        parts.append(f'<text x="{left}" y="{height // 2}">nothing in this period</text></svg>')
        return "".join(parts)
    plot_h = height - top - bottom
    slot = (WIDTH - left - 10) / len(starts)
    bar_w = max(1.0, slot * 0.8 / len(kinds))
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>'
                 f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>'
                 f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 10}" y2="{top + plot_h}" '
                 'stroke="#888"/>')
    for i, t in enumerate(starts):
        label = t.strftime("%Y-%m-%d %H:%M")
        for j, kind in enumerate(kinds):
            value = counts.get((t, kind), 0)
            h = plot_h * value / peak
            parts.append(_bar(left + i * slot + j * bar_w, top + plot_h - h, bar_w, h,
                              COLOURS[kind], label, kind, value))
    parts.append(f'<text x="{left}" y="{height - 20}">{starts[0]:%Y-%m-%d %H:%M}</text>')
    if len(starts) > 1:
        parts.append(f'<text x="{WIDTH - 10}" y="{height - 20}" text-anchor="end">'
                     f'{starts[-1]:%Y-%m-%d %H:%M}</text>')
    parts.append("</svg>")
    return "".join(parts)


def top_bars(svg_id: str, bars: list[tuple[str, str, int]]) -> str:
    """Horizontal bars of (label, kind, value) in the order given, lengths to scale with the
    largest."""
    row, left, label_chars = 22, 10, 90
    peak = max((v for _, _, v in bars), default=0)
    height = max(40, row * len(bars) + 10)
    parts = [f'<svg id="{svg_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{WIDTH}" height="{height}" role="img">']
    if not bars:
        parts.append('<text x="10" y="24">nothing in this period</text>')
    plot_w = WIDTH - left - 80
    for i, (label, kind, value) in enumerate(bars):
        w = plot_w * value / peak if peak else 0
        y = 5 + i * row
        shown = label if len(label) <= label_chars else label[:label_chars - 1] + "…"
        parts.append(_bar(left, y, w, row - 4, COLOURS[kind] + "55", label, kind, value))
        parts.append(f'<text x="{left + 4}" y="{y + 13}" class="bar-label">{escape(shown)}</text>'
                     f'<text x="{WIDTH - 10}" y="{y + 13}" text-anchor="end">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _step_name(step_s: int) -> str:
    for unit, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if step_s % seconds == 0:
            count = step_s // seconds
            return unit if count == 1 else f"{count} {unit}s"
    return f"{step_s} s"
