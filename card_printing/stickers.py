"""Two stickers on one A4 label sheet (2 labels of 210 × 148.5 mm): the fridge door and the inside of the front door.

A crew entering the home sees the front-door sticker first, so its message is the way to
the kit: a door, an arrow, a fridge with the Star of Life, readable without reading.
"""

from __future__ import annotations

import zlib

from reportlab.pdfgen.canvas import Canvas

from card_printing import fonts
from card_printing.data import Issuer
from card_printing.layout import A4_HEIGHT, A4_WIDTH, INK, MM, NAVY, star_of_life

LABEL_H = A4_HEIGHT / 2
INSET = 9 * MM  # from the label's edge: label stock is die-cut with about 1 mm of tolerance


def _fridge(canvas: Canvas, x: float, y: float, w: float, h: float) -> None:
    """A refrigerator seen from the front, (x, y) its lower-left corner, with the Star of Life on its door."""
    canvas.setStrokeColorRGB(*INK)
    canvas.setFillGray(1)
    canvas.setLineWidth(w * 0.06)
    canvas.roundRect(x, y, w, h, w * 0.1, stroke=1, fill=1)
    canvas.line(x, y + h * 0.66, x + w, y + h * 0.66)
    canvas.setLineWidth(w * 0.08)
    canvas.line(x + w * 0.12, y + h * 0.72, x + w * 0.12, y + h * 0.9)
    canvas.line(x + w * 0.12, y + h * 0.38, x + w * 0.12, y + h * 0.58)
    star_of_life(canvas, x + w * 0.56, y + h * 0.33, w * 0.3)


def _door(canvas: Canvas, x: float, y: float, w: float, h: float) -> None:
    """A front door, (x, y) its lower-left corner."""
    canvas.setStrokeColorRGB(*INK)
    canvas.setFillGray(1)
    canvas.setLineWidth(w * 0.07)
    canvas.rect(x, y, w, h, stroke=1, fill=1)
    canvas.setFillColorRGB(*INK)
    canvas.circle(x + w * 0.78, y + h * 0.48, w * 0.07, stroke=0, fill=1)


def _arrow(canvas: Canvas, x: float, y: float, length: float, thickness: float) -> None:
    """A right-pointing block arrow starting at (x, y) on its axis."""
    head = thickness * 1.6
    path = canvas.beginPath()
    path.moveTo(x, y - thickness / 2)
    path.lineTo(x + length - head, y - thickness / 2)
    path.lineTo(x + length - head, y - thickness * 1.3)
    path.lineTo(x + length, y)
    path.lineTo(x + length - head, y + thickness * 1.3)
    path.lineTo(x + length - head, y + thickness / 2)
    path.lineTo(x, y + thickness / 2)
    path.close()
    canvas.setFillColorRGB(*NAVY)
    canvas.drawPath(path, stroke=0, fill=1)


def _frame(canvas: Canvas, bottom: float, where: str, issuer: Issuer) -> tuple[float, float, float, float]:
    left, right, top, low = INSET, A4_WIDTH - INSET, bottom + LABEL_H - INSET, bottom + INSET
    canvas.setStrokeColorRGB(*NAVY)
    canvas.setLineWidth(4)
    canvas.roundRect(left, low, right - left, top - low, 6 * MM, stroke=1, fill=0)
    canvas.setFillColorRGB(*INK)
    fonts.draw(canvas, left + 7 * MM, low + 5 * MM, issuer.office, 14, bold=True)
    canvas.setFillGray(0.3)
    fonts.draw(canvas, right - 7 * MM, low + 5 * MM, f"貼る場所：{where}", 10, align="right")
    return left, low + 12 * MM, right, top


def _text(
    canvas: Canvas,
    x: float,
    top: float,
    width: float,
    rows: list[tuple[str, float, bool, tuple]],
    *,
    bottom: float,
    measure: bool = False,
) -> float:
    """Headlines shrink to stay on one line, sentences (under 20 pt) wrap; returns the height used."""
    y = top
    for text, size, bold, colour in rows:
        size, lines = fonts.fit(text, width, size=size, min_size=size * 0.6 if size >= 20 else size, bold=bold)
        canvas.setFillColorRGB(*colour)
        for line in lines:
            y -= size * 1.3
            if not measure:
                fonts.draw(canvas, x, y, line, size, bold=bold)
        y -= size * 0.45
    if y < bottom:
        raise fonts.TextTooLong("ステッカーの文字が枠に収まりません（発行元の名前が長すぎます）")
    return top - y


def _centred_text(canvas: Canvas, x: float, low: float, high: float, width: float, rows) -> None:
    used = _text(canvas, x, high, width, rows, bottom=low, measure=True)
    _text(canvas, x, high - (high - low - used) / 2, width, rows, bottom=low)


def draw_stickers(canvas: Canvas, *, issuer: Issuer) -> None:
    """One A4 page: the fridge sticker on top, the front-door sticker below."""
    canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
    # The page is the same in every kit: drawn once per document as a form XObject, then
    # placed by reference (a kit batch's sticker pages then cost a few bytes each).
    name = f"stickers-{zlib.crc32(repr(issuer).encode()):08x}"
    if not canvas.hasForm(name):
        canvas.beginForm(name)
        _draw(canvas, issuer)
        canvas.endForm()
    canvas.doForm(name)
    canvas.showPage()


def _draw(canvas: Canvas, issuer: Issuer) -> None:
    # Fridge door: "the information is in here".
    left, low, right, top = _frame(canvas, LABEL_H, "冷蔵庫の扉（外側）", issuer)
    _fridge(canvas, left + 14 * MM, low + 4 * MM, 42 * MM, 84 * MM)
    _centred_text(
        canvas,
        left + 70 * MM,
        low,
        top - 4 * MM,
        right - left - 80 * MM,
        [
            ("救急医療情報", 46, True, NAVY),
            ("この冷蔵庫の中にあります", 26, True, INK),
            ("救急隊の方へ：ドアポケットに", 16, False, INK),
            ("「救急医療情報シート」があります。", 16, False, INK),
        ],
    )
    # Inside of the front door: "the information is in the fridge", as a picture first.
    left, low, right, top = _frame(canvas, 0, "玄関ドアの内側", issuer)
    middle = A4_WIDTH / 2
    _door(canvas, middle - 60 * MM, low + 44 * MM, 27 * MM, 56 * MM)
    _arrow(canvas, middle - 21 * MM, low + 72 * MM, 36 * MM, 10 * MM)
    _fridge(canvas, middle + 28 * MM, low + 44 * MM, 28 * MM, 56 * MM)
    _text(
        canvas,
        left + 10 * MM,
        low + 40 * MM,
        right - left - 20 * MM,
        [
            ("救急医療情報は冷蔵庫に", 44, True, NAVY),
            ("救急隊の方へ：冷蔵庫のドアポケットをご覧ください。", 16, False, INK),
        ],
        bottom=low,
    )
    # Cut marks in the margin for plain paper; label stock is already cut there.
    canvas.setStrokeGray(0)
    canvas.setLineWidth(0.3)
    canvas.line(5.5 * MM, LABEL_H, 8 * MM, LABEL_H)
    canvas.line(A4_WIDTH - 8 * MM, LABEL_H, A4_WIDTH - 5.5 * MM, LABEL_H)
