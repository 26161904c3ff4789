"""badge-<target>.svg: a shields-style badge with a target's score, coloured by threshold."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

from compat_diff.report.files import write_file
from compat_diff.report.result import RunResult, format_score

# (lowest score, colour): the first threshold a score reaches picks the colour.
THRESHOLDS: tuple[tuple[float, str, str], ...] = (
    (0.95, "green", "#4c1"),
    (0.8, "yellow", "#dfb317"),
    (0.5, "orange", "#fe7d37"),
    (0.0, "red", "#e05d44"),
)
NO_SCORE_COLOUR = "#9f9f9f"


def badge_colour(score: float | None) -> str:
    """The colour name for a score: green, yellow, orange or red (grey, 'lightgrey', without one)."""
    if score is None:
        return "lightgrey"
    return next(name for lowest, name, _ in THRESHOLDS if score >= lowest)


def _hex_of(score: float | None) -> str:
    if score is None:
        return NO_SCORE_COLOUR
    return next(hex_value for lowest, _, hex_value in THRESHOLDS if score >= lowest)


def _text_width(text: str) -> int:
    # Verdana 11px averages ~6.5px per glyph; wide glyphs get a little more so labels never clip.
    return int(sum(8.5 if ch in "mwMW%" else 6.5 for ch in text)) + 10


def badge_filename(target_name: str) -> str:
    """A file-system safe name: the target name with anything but letters, digits, ``.-_`` replaced."""
    return "badge-" + re.sub(r"[^A-Za-z0-9._-]", "_", target_name) + ".svg"


def render_badge(label: str, score: float | None) -> str:
    value = format_score(score)
    label_width, value_width = _text_width(label), _text_width(value)
    width = label_width + value_width
    colour = _hex_of(score)
    label_x, value_x = label_width * 5, label_width * 10 + value_width * 5
    label_text, value_text = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{label_text}: {value_text}">'
        f"<title>{label_text}: {value_text}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{label_width}" height="20" fill="#555"/>'
        f'<rect x="{label_width}" width="{value_width}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f'<text aria-hidden="true" x="{label_x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)">{label_text}</text>'
        f'<text x="{label_x}" y="140" transform="scale(.1)">{label_text}</text>'
        f'<text aria-hidden="true" x="{value_x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)">{value_text}</text>'
        f'<text x="{value_x}" y="140" transform="scale(.1)">{value_text}</text></g></svg>\n'
    )


def write_badges(result: RunResult, report_dir: Path) -> list[Path]:
    written = []
    for target in result.targets:
        path = report_dir / badge_filename(target.name)
        write_file(path, render_badge(f"compat {target.name}", target.score))
        written.append(path)
    return written
