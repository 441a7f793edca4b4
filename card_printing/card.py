"""The かかりつけ医カード (CR80, 85.6 × 54 mm): one card per page for card printers, or 10-up on A4.

Front: name (kanji, kana), date of birth, family doctor and second doctor with phones on the
left; on the right the signed QR (0.508 mm modules, 4-module quiet zone; 26.9 mm square at V7,
29.0 mm at V8) with the card number under it; the issuer in the band. Back: emergency contacts
and short instructions for crews and finders. Text shrinks to fit the card (the name never
below 10 pt) and a card that still does not fit is refused, never clipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.pdfgen.canvas import Canvas

from card_printing import fonts, qr
from card_printing.data import Issuer, PersonData
from card_printing.layout import (
    A4_HEIGHT,
    A4_WIDTH,
    INK,
    MM,
    NAVY,
    Line,
    date_both,
    draw_lines,
    height,
    paragraph,
    star_of_life,
)

CARD_W, CARD_H = 85.6 * MM, 54 * MM
INSET = 3 * MM  # card printers and cutting both need a safe distance from the edge
BAND_H = 8 * MM
# 6 dots at 300 dpi = 0.508 mm, the smallest whole number of dots ≥ DESIGN's 0.5 mm: 26.9 mm with
# the quiet zone at V7, 29.0 mm at V8 (a host of 20–60 characters).
QR_MODULE = 6 * qr.DOT_300
QR_EDGE = 1 * MM  # from the card's right edge to the quiet zone
QR_TOP = 0.5 * MM  # from the band to the quiet zone
# Between the text and the quiet zone, which is itself 4 blank modules (2 mm): the text column
# takes the rest of the width, so the larger symbol costs the text as little as possible.
TEXT_GAP = 1.5 * MM
CELL_W, CELL_H = 91 * MM, 55 * MM  # common 10-up business-card stock (2 × 5)
GRID_LEFT = (A4_WIDTH - 2 * CELL_W) / 2
GRID_TOP = A4_HEIGHT - (A4_HEIGHT - 5 * CELL_H) / 2
MIN_SCALE = 0.7


@dataclass(frozen=True)
class CardResult:
    qr: list[qr.QrPlacement]
    cards: list[tuple[float, float]]  # lower-left corner of each card drawn, in page points


def cell_origin(index: int, *, back: bool = False) -> tuple[float, float]:
    """Lower-left corner of card ``index`` (0–9) on a 10-up page; backs mirror the columns for long-edge duplex."""
    row, column = divmod(index, 2)
    if back:
        column = 1 - column
    x = GRID_LEFT + column * CELL_W + (CELL_W - CARD_W) / 2
    y = GRID_TOP - (row + 1) * CELL_H + (CELL_H - CARD_H) / 2
    return x, y


def _band(canvas: Canvas, x: float, y: float, title: str, issuer: Issuer) -> None:
    top = y + CARD_H
    canvas.setFillColorRGB(*NAVY)
    canvas.rect(x, top - BAND_H, CARD_W, BAND_H, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.circle(x + INSET + 2.6 * MM, top - BAND_H / 2, 2.9 * MM, stroke=0, fill=1)
    star_of_life(canvas, x + INSET + 2.6 * MM, top - BAND_H / 2, 2.5 * MM)
    canvas.setFillGray(1)
    fonts.draw(canvas, x + INSET + 6.5 * MM, top - BAND_H / 2 - 3.5, title, 10, bold=True)
    fonts.draw(canvas, x + CARD_W - INSET, top - BAND_H / 2 - 2.8, issuer.office, 7.5, bold=True, align="right")


def _shrunk(text: str, width: float, size: float, *, bold: bool = False, space_before: float = 0.0) -> list[Line]:
    # Short facts (a date, a phone) read best on one line: shrink a little before wrapping.
    fitted, lines = fonts.fit(text, width, size=size, min_size=min(size, 6), bold=bold)
    return [Line(line, fitted, bold, space_before=space_before if i == 0 else 0) for i, line in enumerate(lines)]


def _front_lines(person: PersonData, today: date, width: float, scale: float) -> list[Line]:
    def s(size: float) -> float:
        return round(size * scale, 2)

    name_size, names = fonts.fit(person.name, width, size=max(10, s(15)), min_size=10, bold=True)
    lines = [
        Line("氏名", s(6.5)),
        *[Line(n, name_size, True) for n in names],
        *paragraph(person.kana, width, s(7.5)),
        *_shrunk(f"生年月日 {date_both(person.birth_date)}", width, s(7.5), space_before=s(1.5)),
    ]
    for title, doctor in (("かかりつけ医", person.family_doctor), ("二人目の主治医", person.second_doctor)):
        if doctor is None:
            if title == "かかりつけ医":
                lines += paragraph("かかりつけ医：登録なし", width, s(7.5), space_before=s(2.5))
            continue
        lines += _shrunk(
            title + (f"（{doctor.specialty}）" if doctor.specialty else ""),
            width,
            s(6.5),
            bold=True,
            space_before=s(2.5),
        )
        if doctor.institution:
            lines += _shrunk(doctor.institution, width, s(8), bold=True)
        lines += _shrunk(
            f"{doctor.name} 医師" + (f"　☎ {doctor.phone}" if doctor.phone else ""), width, s(8.5), bold=True
        )
    return lines


def _fit(build, room: float) -> list[Line]:
    scale = 1.0
    while True:
        lines = build(scale)
        if height(lines) <= room:
            return lines
        if scale <= MIN_SCALE:
            raise fonts.TextTooLong("カードに収まりません（医療機関名や氏名が長すぎます）")
        scale = max(MIN_SCALE, scale - 0.05)


def _back_lines(person: PersonData, issuer: Issuer, width: float, scale: float) -> list[Line]:
    def s(size: float) -> float:
        return round(size * scale, 2)

    lines: list[Line] = []
    for n, c in enumerate(person.contacts[:2]):
        who = c.name + (f"（{c.relation}）" if c.relation else "")
        if n == 0:
            lines += paragraph(who, width, s(10), bold=True)
            lines += paragraph(f"☎ {c.phone}" + (f"　{c.phone2}" if c.phone2 else ""), width, s(11), bold=True)
        else:
            lines += paragraph(f"{who}　☎ {c.phone}", width, s(8), bold=True, space_before=s(1.5))
    if not person.contacts:
        lines += paragraph("（登録なし）", width, s(9))
    notes = (
        "救急隊・医療機関の方へ：表面のQRコードを読み取ると、この方の救急医療情報（アレルギー・服薬・持病など）を確認できます。QRコードに個人情報は含まれていません。",
        "自宅の冷蔵庫にも救急医療情報シートがあります。",
        f"このカードを拾われた方は、{issuer.office}（{issuer.phone}）へお届けください。",
        "なくしたときは市へご連絡ください。再発行すると、古いカードは使えなくなります。",
    )
    for i, note in enumerate(notes):
        lines += paragraph(note, width, s(6.5), bold=i == 0, space_before=s(2.5) if i == 0 else s(0.8))
    return lines


@dataclass(frozen=True)
class CardLayout:
    """A card measured and fitted, ready to draw: preparing all cards first means a card that
    cannot fit is refused before anything of its sheet is on paper."""

    person: PersonData
    symbol: qr.QrSymbol
    front: list[Line]
    back: list[Line]

    @property
    def qr_side(self) -> float:
        return self.symbol.total * QR_MODULE


def prepare(person: PersonData, *, today: date, issuer: Issuer) -> CardLayout:
    """Fit the text of both sides around the card's QR; raises TextTooLong when it cannot fit."""
    if person.card is None:
        raise ValueError("the person has no card to print")
    symbol = person.card.symbol
    width = CARD_W - QR_EDGE - symbol.total * QR_MODULE - TEXT_GAP - INSET
    front = _fit(lambda scale: _front_lines(person, today, width, scale), CARD_H - BAND_H - INSET - 1 * MM)
    back = _fit(lambda scale: _back_lines(person, issuer, CARD_W - 2 * INSET, scale), CARD_H - BAND_H - INSET - 4 * MM)
    return CardLayout(person=person, symbol=symbol, front=front, back=back)


def draw_front(canvas: Canvas, layout: CardLayout, *, x: float, y: float, issuer: Issuer) -> qr.QrPlacement:
    """The front of the card with its lower-left corner at (x, y)."""
    _band(canvas, x, y, "かかりつけ医カード", issuer)
    side, number = layout.qr_side, layout.person.card.number
    qr_x, qr_y = x + CARD_W - QR_EDGE - side, y + CARD_H - BAND_H - QR_TOP - side
    placement = qr.draw(canvas, layout.symbol, x=qr_x, y=qr_y, module=QR_MODULE)
    canvas.setFillColorRGB(*INK)
    # Below the quiet zone, never in it: the glyphs' tops stay under the symbol's margin.
    fonts.draw(canvas, qr_x + side / 2, qr_y - 2.3 * MM, "救急隊用QRコード", 6.5, bold=True, align="centre")
    fonts.draw(
        canvas,
        qr_x + side / 2,
        qr_y - 5.0 * MM,
        number,
        min(6.5, (side - 2 * MM) / fonts.width(number, 1)),
        align="centre",
    )
    draw_lines(canvas, x + INSET, y + CARD_H - BAND_H - 1 * MM, layout.front)
    return placement


def draw_back(canvas: Canvas, layout: CardLayout, *, x: float, y: float, issuer: Issuer) -> None:
    """The back of the card: emergency contacts and instructions."""
    _band(canvas, x, y, "緊急連絡先", issuer)
    draw_lines(canvas, x + INSET, y + CARD_H - BAND_H - 1 * MM, layout.back)
    canvas.setFillGray(0.3)
    fonts.draw(canvas, x + INSET, y + 2.2 * MM, f"カード番号 {layout.person.card.number}", 6)


def draw_cr80(canvas: Canvas, layouts: Sequence[CardLayout], *, issuer: Issuer) -> CardResult:
    """Card-printer output: per card a front page and a back page, each 85.6 × 54 mm."""
    placements = []
    for layout in layouts:
        canvas.setPageSize((CARD_W, CARD_H))
        placements.append(draw_front(canvas, layout, x=0, y=0, issuer=issuer))
        canvas.showPage()
        canvas.setPageSize((CARD_W, CARD_H))
        draw_back(canvas, layout, x=0, y=0, issuer=issuer)
        canvas.showPage()
    return CardResult(qr=placements, cards=[(0.0, 0.0)] * len(layouts))


def _crop_marks(canvas: Canvas) -> None:
    # Only in the page margin, on the lines of the cells: they guide a cutter without
    # marking any card, and stay clear of the 5 mm an office printer cannot reach.
    canvas.setStrokeGray(0)
    canvas.setLineWidth(0.3)
    bottom = GRID_TOP - 5 * CELL_H
    for i in range(3):
        x = GRID_LEFT + i * CELL_W
        canvas.line(x, 5.5 * MM, x, bottom - 1.5 * MM)
        canvas.line(x, GRID_TOP + 1.5 * MM, x, A4_HEIGHT - 5.5 * MM)
    for i in range(6):
        y = GRID_TOP - i * CELL_H
        canvas.line(5.5 * MM, y, GRID_LEFT - 1.5 * MM, y)
        canvas.line(GRID_LEFT + 2 * CELL_W + 1.5 * MM, y, A4_WIDTH - 5.5 * MM, y)


def _sheet_note(canvas: Canvas, side: str) -> None:
    # Left of the middle crop mark, so the two never touch.
    canvas.setFillGray(0.25)
    fonts.draw(
        canvas,
        GRID_LEFT + 2 * MM,
        A4_HEIGHT - 8.5 * MM,
        f"かかりつけ医カード {side}｜A4名刺用紙 91×55mm 10面｜100%で印刷",
        6.5,
    )


def draw_ten_up(canvas: Canvas, layouts: Sequence[CardLayout], *, issuer: Issuer) -> CardResult:
    """Up to 10 cards on A4 business-card stock: a page of fronts, then a page of backs (long-edge duplex)."""
    if len(layouts) > 10:
        raise ValueError("at most 10 cards per sheet")
    placements, origins = [], []
    for side in ("表面", "裏面"):
        canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
        _sheet_note(canvas, side)
        for i, layout in enumerate(layouts):
            x, y = cell_origin(i, back=side == "裏面")
            if side == "表面":
                origins.append((x, y))
                placements.append(draw_front(canvas, layout, x=x, y=y, issuer=issuer))
            else:
                draw_back(canvas, layout, x=x, y=y, issuer=issuer)
        _crop_marks(canvas)
        canvas.showPage()
    return CardResult(qr=placements, cards=origins)
