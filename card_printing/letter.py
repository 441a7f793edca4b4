"""The issuance letter (A4) to the household: what the kit is, where it goes, how to update it,
the resident access code, and what to do about a lost card. 13 pt body, 15 pt headings.

Only the address block and the access code differ between households. The rest of the
letter is drawn once per document as a form XObject and placed under the address, so a
batch of a thousand letters costs little more than their addresses and codes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

from reportlab.pdfgen.canvas import Canvas

from app.core.wareki import format_wareki
from card_printing import fonts
from card_printing.data import HouseholdData, Issuer
from card_printing.layout import A4_HEIGHT, A4_WIDTH, INK, MM, NAVY, PALE, Line, draw_lines, height, paragraph

MARGIN = 20 * MM
LEFT, RIGHT, TOP, BOTTOM = MARGIN, A4_WIDTH - MARGIN, A4_HEIGHT - 14 * MM, 14 * MM
WIDTH = RIGHT - LEFT
BODY, HEAD, CODE = 13, 15, 24
BOX_PAD = 4 * MM


@dataclass
class _Block:
    lines: list[Line]
    boxed: bool = False  # the access-code box: its second line is where the code goes

    @property
    def height(self) -> float:
        return height(self.lines) + (2 * BOX_PAD if self.boxed else 0)


def format_code(code: str) -> str:
    """ABCD-EFGH-JKLM: groups of four are easier to read out and to type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _address(household: HouseholdData) -> list[Line]:
    home = household.home
    lines = [Line(f"〒{home.postal_code}", BODY)] if home.postal_code else []
    lines += paragraph(home.address, WIDTH * 0.6, BODY)
    return lines + [
        Line(f"{m.name} 様", HEAD, True, space_before=1.5 * MM if i == 0 else 0)
        for i, m in enumerate(household.printable)
    ]


def _body(issuer: Issuer) -> list[_Block]:
    """Everything below the address; the same for every household."""

    def section(title: str, *texts: str) -> _Block:
        lines = paragraph(title, WIDTH, HEAD, bold=True, space_before=3 * MM)
        for text in texts:
            lines += paragraph(text, WIDTH - 4 * MM, BODY, prefix="・" if len(texts) > 1 else "　")
        return _Block(lines)

    box = [
        Line("住民用アクセスコード", BODY, True),
        Line("", CODE, True, space_before=1 * MM),
        *paragraph(f"利用者ページ：{issuer.public_url}", WIDTH - 10 * MM, BODY, space_before=1 * MM),
        *paragraph(
            "ご本人とご家族専用です。他の人には教えないでください。入力するとき、ハイフン（-）は不要です。"
            "新しいコードを発行すると、このコードは使えなくなります。",
            WIDTH - 10 * MM,
            BODY,
        ),
    ]
    return [
        _Block(
            [
                Line("救急医療情報キットをお届けします", 18, True, space_before=6 * MM),
                *paragraph(
                    "日頃より市政にご理解とご協力をいただき、ありがとうございます。"
                    "このキット（救急医療情報収納セット）は、救急車を呼んだときに、救急隊が持病・お薬・アレルギー・"
                    "かかりつけ医・緊急連絡先をすぐに確かめるためのものです。",
                    WIDTH,
                    BODY,
                    space_before=3 * MM,
                ),
            ]
        ),
        section(
            "キットの中身",
            "救急医療情報シート（宛名の方お一人に1枚）",
            "ステッカー 2枚（冷蔵庫の扉用・玄関ドアの内側用）",
            "保険の資格確認書とお薬手帳のコピーも、シートと一緒に入れてください",
        ),
        section(
            "置き場所",
            "シートは封筒に入れ、冷蔵庫のドアポケットに立てて入れてください",
            "ステッカーは冷蔵庫の扉と玄関ドアの内側に貼ってください（救急隊の目印）",
            "かかりつけ医カードは、財布など、いつも持ち歩くものに入れてください",
        ),
        section(
            "内容が変わったとき",
            "お薬・病気・かかりつけ医・連絡先が変わったら、シートの「変更メモ」に書き込み、市にお知らせください",
            "下のアクセスコードを使うと、ご家族がインターネットで確認・更新し、新しいシートを印刷できます",
        ),
        _Block(box, boxed=True),
        section(
            "かかりつけ医カードをなくしたとき",
            f"{issuer.office}（電話 {issuer.phone}）へご連絡ください。新しいカードをお送りします。"
            "なくしたカードは使えなくなり、拾った人が情報を見ることはできません。",
        ),
        _Block(
            paragraph(
                f"お問い合わせ：{issuer.office}　電話 {issuer.phone}", WIDTH, BODY, bold=True, space_before=4 * MM
            )
        ),
    ]


def _draw_blocks(canvas: Canvas, blocks: list[_Block], top: float, code: str = "") -> None:
    """Draw blocks from ``top`` down; the code, if given, goes into the box."""
    y = top
    for block in blocks:
        if not block.boxed:
            y = draw_lines(canvas, LEFT, y, block.lines)
            continue
        y -= BOX_PAD
        canvas.setFillColorRGB(*PALE)
        canvas.setStrokeColorRGB(*NAVY)
        canvas.setLineWidth(1.5)
        canvas.roundRect(
            LEFT,
            y - height(block.lines) - BOX_PAD,
            WIDTH,
            height(block.lines) + 1.5 * BOX_PAD,
            3 * MM,
            stroke=1,
            fill=1,
        )
        canvas.setFillColorRGB(*INK)
        lines = (
            [block.lines[0], Line(format_code(code), CODE, True, space_before=1 * MM), *block.lines[2:]]
            if code
            else block.lines
        )
        draw_lines(canvas, LEFT + 5 * MM, y - 1 * MM, lines)
        y -= block.height - BOX_PAD


def _code_top(body: list[_Block]) -> float:
    """Where, below the top of the body, the code line starts (as ``_draw_blocks`` lays it out)."""
    offset = 0.0
    for block in body:
        if block.boxed:
            return offset - BOX_PAD - 1 * MM - block.lines[0].height
        offset -= block.height
    raise ValueError("the letter has no access-code box")


def _header(canvas: Canvas, household: HouseholdData, today: date, issuer: Issuer) -> float:
    canvas.setFillColorRGB(*INK)
    fonts.draw(canvas, RIGHT, TOP - BODY, format_wareki(today), BODY, align="right")
    fonts.draw(canvas, RIGHT, TOP - 2.4 * BODY, issuer.office, BODY, bold=True, align="right")
    return draw_lines(canvas, LEFT, TOP, _address(household))


def draw_letter(canvas: Canvas, household: HouseholdData, *, access_code: str, today: date, issuer: Issuer) -> int:
    """Draw the letter (one page, two for a very large household); returns the number of pages."""
    body = _body(issuer)
    body_height = sum(b.height for b in body)
    canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
    top = _header(canvas, household, today, issuer)
    if top - body_height >= BOTTOM:
        name = f"letter-{zlib.crc32(repr(issuer).encode()):08x}"
        if not canvas.hasForm(name):
            canvas.beginForm(name, lowerx=0, lowery=-A4_HEIGHT, upperx=A4_WIDTH, uppery=0)
            _draw_blocks(canvas, body, 0)
            canvas.endForm()
        canvas.saveState()
        canvas.translate(0, top)
        canvas.doForm(name)
        canvas.restoreState()
        baseline = top + _code_top(body) - 1 * MM - CODE * 1.02
        fonts.draw(canvas, LEFT + 5 * MM, baseline, format_code(access_code), CODE, bold=True)
        canvas.showPage()
        return 1
    # A household too large for one page: the body flows on to a second page.
    room, pages = top - BOTTOM, [[]]
    for block in body:
        if block.height > room:
            pages.append([])
            room = TOP - BOTTOM
        pages[-1].append(block)
        room -= block.height
    for number, blocks in enumerate(pages, start=1):
        if number > 1:
            canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
            top = TOP
        _draw_blocks(canvas, blocks, top, access_code)
        fonts.draw(canvas, RIGHT, BOTTOM - 6 * MM, f"{number} / {len(pages)}", 10, align="right")
        canvas.showPage()
    return len(pages)
