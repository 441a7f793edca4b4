"""Shared page geometry and drawing pieces: lines of text with badges, boxes, dates in 和暦 and 西暦."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from app.core.wareki import age_on, format_seireki, format_wareki
from card_printing import fonts

MM = 72 / 25.4
A4_WIDTH, A4_HEIGHT = A4
# Office printers cannot print the outer ~4 mm; nothing is drawn within 5 mm of an A4 edge.
PRINTABLE_MARGIN = 5 * MM
INK = (0.0, 0.0, 0.0)
NAVY = (0.09, 0.20, 0.40)  # prints as a dark grey on a monochrome printer
PALE = (0.90, 0.90, 0.90)
LINE_SPACING = 1.3


# Raw operators for what a sheet draws dozens of times: reportlab's colour and rectangle calls
# format every number through a slow generic routine. (It never skips a colour it believes
# is current, so the two can be mixed freely.)
@lru_cache
def _colour(rgb: tuple[float, float, float], op: str) -> str:
    return f"{rgb[0]:.3f} {rgb[1]:.3f} {rgb[2]:.3f} {op}"


def fill_colour(canvas: Canvas, rgb: tuple[float, float, float]) -> None:
    canvas.addLiteral(_colour(tuple(rgb), "rg"))


def box(
    canvas: Canvas, x: float, y: float, w: float, h: float, *, fill=None, stroke=None, line_width: float = 0.8
) -> None:
    """A rectangle, filled and/or outlined (colours as RGB tuples)."""
    ops = [_colour(tuple(fill), "rg")] if fill else []
    if stroke:
        ops += [_colour(tuple(stroke), "RG"), f"{line_width:.2f} w"]
    ops.append(f"{x:.2f} {y:.2f} {w:.2f} {h:.2f} re {'B' if fill and stroke else 'f' if fill else 'S'}")
    canvas.addLiteral(" ".join(ops))


def rules(
    canvas: Canvas, segments: Sequence[tuple[float, float, float, float]], *, grey: float, line_width: float
) -> None:
    """Straight lines (x0, y0, x1, y1) in one path."""
    path = " ".join(f"{x0:.2f} {y0:.2f} m {x1:.2f} {y1:.2f} l" for x0, y0, x1, y1 in segments)
    canvas.addLiteral(f"q {grey:.3f} G {line_width:.2f} w {path} S Q")


def date_both(value: date | None) -> str:
    """昭和15年3月2日（1940年3月2日）."""
    return f"{format_wareki(value)}（{format_seireki(value)}）" if value else "—"


def birth_line(birth: date, today: date) -> str:
    """Date of birth in both calendars with the age today."""
    return f"{date_both(birth)}　{age_on(birth, today)}歳"


@dataclass(slots=True)
class Line:
    """One printed line: optional inverted badges, then text."""

    text: str
    size: float
    bold: bool = False
    indent: float = 0.0
    badges: tuple[str, ...] = ()
    space_before: float = 0.0
    lead: str = ""  # drawn before the badges (a bullet), so bullets stay aligned

    @property
    def height(self) -> float:
        return self.size * LINE_SPACING + self.space_before


def badge_width(label: str, size: float) -> float:
    return fonts.width(label, size, bold=True) + size * 0.8


def paragraph(
    text: str,
    width: float,
    size: float,
    *,
    bold: bool = False,
    prefix: str = "",
    badges: tuple[str, ...] = (),
    space_before: float = 0.0,
) -> list[Line]:
    """``prefix`` + ``text`` wrapped into ``width``, continuation lines hanging under the text."""
    hang = fonts.width(prefix, size, bold=bold)
    first_room = width - hang - sum(badge_width(b, size) + size * 0.3 for b in badges)
    text = text.strip()
    lines = fonts.wrap(text, max(first_room, size * 2), size, bold=bold)
    head = lines[0]
    rest = fonts.wrap(text[len(head) :].strip(), width - hang, size, bold=bold) if len(lines) > 1 else []
    out = [Line(head, size, bold, badges=badges, space_before=space_before, lead=prefix)]
    out += [Line(line, size, bold, indent=hang) for line in rest if line]
    return out


def draw_line(canvas: Canvas, x: float, top: float, line: Line, *, colour=INK) -> None:
    """Draw ``line`` with its top edge at ``top``."""
    baseline = top - line.space_before - line.size * 1.02
    cursor = x + line.indent
    if line.lead:
        fill_colour(canvas, colour)
        cursor += fonts.draw(canvas, cursor, baseline, line.lead, line.size, bold=line.bold)
    for label in line.badges:
        w = badge_width(label, line.size)
        canvas.setFillColorRGB(*INK)
        canvas.roundRect(cursor, baseline - line.size * 0.28, w, line.size * 1.28, line.size * 0.2, stroke=0, fill=1)
        canvas.setFillGray(1)
        fonts.draw(canvas, cursor + line.size * 0.4, baseline, label, line.size, bold=True)
        cursor += w + line.size * 0.3
    fill_colour(canvas, colour)
    fonts.draw(canvas, cursor, baseline, line.text, line.size, bold=line.bold)


def draw_lines(canvas: Canvas, x: float, top: float, lines: list[Line], *, colour=INK) -> float:
    """Draw lines downwards from ``top``; returns the y below the last one."""
    for line in lines:
        draw_line(canvas, x, top, line, colour=colour)
        top -= line.height
    return top


def height(lines: list[Line]) -> float:
    return sum(line.height for line in lines)


def star_of_life(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    """The Star of Life (EMS emblem): a six-armed blue star with a white staff; never a red cross."""
    canvas.saveState()
    canvas.translate(cx, cy)
    arm = radius * 0.36
    for angle in (0, 60, 120):
        canvas.saveState()
        canvas.rotate(angle)
        canvas.setFillColorRGB(0.0, 0.32, 0.65)
        canvas.setStrokeGray(1)
        canvas.setLineWidth(radius * 0.05)
        canvas.rect(-arm / 2, -radius, arm, 2 * radius, stroke=0, fill=1)
        canvas.restoreState()
    canvas.setFillGray(1)
    canvas.rect(-radius * 0.05, -radius * 0.62, radius * 0.1, radius * 1.24, stroke=0, fill=1)
    canvas.circle(0, radius * 0.62, radius * 0.09, stroke=0, fill=1)
    canvas.restoreState()
