"""Server-side SVG for the public pages: a mark's badge and a score history chart.

No script, no external resource: each image carries its own title and description, so a screen
reader and a page without JavaScript get the same facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from compat_diff.report.badge import hex_of, render_badge_text
from compat_diff.report.result import format_score

# A mark's state decides the badge's colour when it is not valid: the score alone would mislead.
STATE_COLOURS = {"expired": "#9f9f9f", "revoked": "#555555", "failed": "#e05d44", "none": "#9f9f9f"}


def mark_badge(label: str, mark: dict[str, Any], link: str) -> str:
    """The badge of a mark: its score while valid, its state otherwise, linking to its status page."""
    state = mark["state"]
    if state == "valid":
        value, colour = format_score(mark["score"]), hex_of(mark["score"])
    elif state in ("failed", "expired") and mark.get("score") is not None:
        value, colour = f"{format_score(mark['score'])} {state}", STATE_COLOURS[state]
    else:
        value, colour = ("no mark" if state == "none" else state), STATE_COLOURS.get(state, "#9f9f9f")
    return render_badge_text(label, value, colour, link=link)


def history_chart(points: list[dict[str, Any]], title: str, width: int = 640, height: int = 200) -> str:
    """A line of scores (0 to 100 %) over time, one point per finished run, oldest on the left."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    usable = [p for p in points if p.get("score") is not None and p.get("finished")]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    if not usable:
        parts.append('<desc id="chart-desc">No finished run yet.</desc>')
        parts.append(
            f'<text x="{left}" y="{top + plot_h // 2}" font-size="13" fill="#333">No finished run yet.</text>'
        )
        return "".join(parts) + "</svg>"
    times = [datetime.fromisoformat(p["finished"]).timestamp() for p in usable]
    first, last = min(times), max(times)
    span = (last - first) or 1.0
    scores = [float(p["score"]) for p in usable]
    parts.append(
        f'<desc id="chart-desc">{len(usable)} finished runs from {escape(usable[0]["finished"][:10])} to '
        f"{escape(usable[-1]['finished'][:10])}; newest score {format_score(scores[-1])}, lowest "
        f"{format_score(min(scores))}, highest {format_score(max(scores))}.</desc>"
    )
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#333">'
            f"{fraction:.0%}</text>"
        )
    coordinates = [
        (left + plot_w * (t - first) / span, top + plot_h * (1 - s))
        for t, s in zip(times, scores, strict=True)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts.append(f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points={quoteattr(path)}/>')
    if len(coordinates) <= 60:
        for (x, y), point in zip(coordinates, usable, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f6feb"><title>run {point["run"]}: '
                f"{format_score(point['score'])} on {escape(point['finished'][:10])}</title></circle>"
            )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="#333">'
        f'{escape(usable[0]["finished"][:10])}</text>'
        f'<text x="{left + plot_w}" y="{height - 8}" font-size="11" text-anchor="end" fill="#333">'
        f"{escape(usable[-1]['finished'][:10])}</text>"
    )
    return "".join(parts) + "</svg>"
