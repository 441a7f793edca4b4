"""The A4 emergency information sheet (救急医療情報シート): the whole dataset in priority order.

What saves lives is large and bold (≥ 14 pt): resuscitation wishes, allergies, medications
(anticoagulant / insulin badges), conditions, doctors and their phones, emergency contacts.
The rest is 12 pt. Sections that do not fit continue on the next page under a repeated
header; every line of text is wrapped, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from reportlab.pdfgen.canvas import Canvas

from card_printing import fonts, qr
from card_printing.data import Issuer, PersonData
from card_printing.layout import (
    A4_HEIGHT,
    A4_WIDTH,
    INK,
    MM,
    NAVY,
    PALE,
    Line,
    birth_line,
    box,
    date_both,
    draw_lines,
    fill_colour,
    height,
    paragraph,
    rules,
)

MARGIN = 12 * MM
LEFT, RIGHT, TOP, BOTTOM = MARGIN, A4_WIDTH - MARGIN, A4_HEIGHT - MARGIN, MARGIN
LABEL_W = 33 * MM
CONTENT_X = LEFT + LABEL_W + 3 * MM
CONTENT_W = RIGHT - CONTENT_X - 2 * MM
PAD = 1.2 * MM
FOOTER_TOP = BOTTOM + 7 * MM
BIG, PHONE, BODY, SMALL = 14, 16, 12, 11
# 8 dots at 300 dpi = 0.677 mm (7 would be 0.593, under DESIGN's 0.6 mm): larger than the card's,
# for a crew scanning the sheet on the refrigerator door from a distance.
QR_MODULE = 8 * qr.DOT_300
MEMO_LINE = 8 * MM
MEMO_MIN_LINES = 3


@dataclass
class Section:
    label: str
    items: list[list[Line]]
    vital: bool = False  # life-saving: dark label cell


@dataclass
class _Part:
    """The piece of a section that lands on one page."""

    section: Section
    continued: bool = False
    items: list[list[Line]] = field(default_factory=list)

    @cached_property
    def label(self) -> list[Line]:
        text = self.section.label + ("（続き）" if self.continued else "")
        return [Line(t, BODY, True) for t in fonts.wrap(text, LABEL_W - 2 * PAD, BODY, bold=True)]

    def height(self, extra: list[Line] = ()) -> float:
        return max(height(self.label), height([line for item in self.items for line in item]) + height(extra)) + 2 * PAD


def _entries(rows, empty: str, *, flags: bool = False) -> list[list[Line]]:
    if not rows:
        return [[Line(empty, BODY)]]
    items = []
    for entry in rows:
        badges = tuple(
            b for b, on in (("抗凝固薬", entry.anticoagulant), ("インスリン", entry.insulin)) if on and flags
        )
        suffix = (
            f"〔{entry.category}〕" if entry.category and entry.category not in ("定期", "薬剤", "現在の病気") else ""
        )
        lines = paragraph(entry.text + suffix, CONTENT_W, BIG, bold=True, prefix="● ", badges=badges)
        if entry.note:
            lines += paragraph(entry.note, CONTENT_W - 2 * BIG, SMALL, prefix="　 ")
        items.append(lines)
    return items


def _doctor_item(doctor, *, second: bool = False) -> list[Line]:
    # The family doctor needs no title (the row's label says it); the second one does.
    title = "二人目の主治医" if second else "かかりつけ医"
    if doctor is None:
        return [Line(f"{title}：登録なし", BODY)]
    name = f"{doctor.name} 医師"
    lines = []
    if second:
        lines += paragraph(title + (f"（{doctor.specialty}）" if doctor.specialty else ""), CONTENT_W, SMALL, bold=True)
    elif doctor.specialty:
        name += f"（{doctor.specialty}）"
    lines += paragraph("　".join(x for x in (doctor.institution, name) if x), CONTENT_W, BIG, bold=True)
    if doctor.phone:
        lines += [Line(f"電話 {doctor.phone}", PHONE, True, indent=BIG)]
    return lines


def _contacts(person: PersonData) -> list[list[Line]]:
    if not person.contacts:
        return [[Line("登録なし", BODY)]]
    items = []
    for n, c in enumerate(person.contacts, start=1):
        head = f"{'①②③④⑤⑥⑦⑧⑨⑩'[n - 1] if n <= 10 else n} {c.name}" + (f"（{c.relation}）" if c.relation else "")
        phones = "　".join(p for p in (c.phone, c.phone2) if p)
        lines = paragraph(f"{head}　電話 {phones}", CONTENT_W, BIG, bold=True)
        # The kana reading is left to the EMS app: the crew needs the number, and room is for that.
        if c.note:
            lines += paragraph(c.note, CONTENT_W - BIG, SMALL, prefix="　 ")
        items.append(lines)
    return items


def _inline(pairs) -> list[list[Line]]:
    # Lower-priority facts share lines to leave room for the life-saving ones; a fact is moved
    # to the next line whole rather than split, unless it is longer than a line by itself.
    lines: list[Line] = []
    for label, value in pairs:
        fact = f"{label} {fonts.clean(value) or '—'}"
        joined = f"{lines[-1].text}　{fact}" if lines else ""
        if lines and fonts.width(joined, BODY) <= CONTENT_W:
            lines[-1] = Line(joined, BODY)
        else:
            lines += paragraph(fact, CONTENT_W, BODY)
    return [lines]


def sections(person: PersonData) -> list[Section]:
    """The dataset of DESIGN.md §3 in priority order (identity is in the page header)."""
    dnar = {"exists": "あり", "none": "なし"}.get(person.dnar, "未確認")
    acp = [
        paragraph(
            f"DNAR書面：{dnar}" + (f"　保管場所：{person.dnar_location}" if person.dnar_location else ""),
            CONTENT_W,
            BIG,
            bold=True,
        )
    ]
    if person.acp_notes:
        acp.append(paragraph(f"本人の希望：{person.acp_notes}", CONTENT_W, BODY))
    home = person.home
    address = f"〒{home.postal_code} {home.address}" if home.postal_code else home.address
    return [
        Section("心肺蘇生の希望", acp, vital=True),
        Section("アレルギー・\n薬剤禁忌", _entries(person.allergies, "登録なし"), vital=True),
        Section("服用中の薬", _entries(person.medications, "登録なし", flags=True), vital=True),
        Section("病気・手術・\n植込み機器", _entries(person.conditions, "登録なし"), vital=True),
        Section(
            "かかりつけ医",
            [_doctor_item(person.family_doctor), _doctor_item(person.second_doctor, second=True)],
            vital=True,
        ),
        Section("緊急連絡先", _contacts(person), vital=True),
        Section(
            "血液型・感染症",
            _inline((("血液型", person.blood), ("普段の様子", person.usual_state), ("感染症", person.infection_notes))),
        ),
        Section("保険", _inline(person.insurance or (("保険", "登録なし"),))),
        Section(
            "住所・連絡先",
            _inline(
                (("住所", address), ("電話", person.phone or home.phone), ("担当民生委員", home.welfare_commissioner))
            ),
        ),
        Section(
            "記入・確認",
            _inline((("最終確認", date_both(person.last_confirmed_on)), ("確認者", person.last_confirmed_by))),
        ),
    ]


def paginate(section_list: list[Section], first_room: float, next_room: float) -> tuple[list[list[_Part]], float]:
    """Sections over pages (whole items where they fit, line by line when taller than a page); room left at the end."""
    pages: list[list[_Part]] = [[]]
    room = first_room
    for section in section_list:
        part = _Part(section)
        for item in section.items:
            lines = list(item)
            while lines:
                if part.height(lines) <= room:
                    part.items.append(lines)
                    break
                if height(lines) + 2 * PAD > next_room or not (pages[-1] or part.items):
                    taken = []
                    while lines and part.height(taken + lines[:1]) <= room:
                        taken.append(lines.pop(0))
                    if taken:
                        part.items.append(taken)
                        continue
                if part.items:
                    pages[-1].append(part)
                    part = _Part(section, continued=True)
                pages.append([])
                room = next_room
        pages[-1].append(part)
        room -= part.height()
    return pages, room


def _flags(person: PersonData) -> tuple[str, ...]:
    flags = (
        ("DNAR書面あり", person.dnar == "exists"),
        ("アレルギーあり", bool(person.allergies)),
        ("抗凝固薬あり", any(m.anticoagulant for m in person.medications)),
        ("インスリン使用", any(m.insulin for m in person.medications)),
        ("植込み機器あり", any(c.category == "植込み機器" for c in person.conditions)),
    )
    return tuple(label for label, on in flags if on)


class _FirstHeader:
    """Title, identity and the QR of the card, with the life-saving flags underneath."""

    def __init__(self, person: PersonData, today: date):
        self.person = person
        self.symbol = person.card.symbol if person.card else None
        self.qr_side = self.symbol.total * QR_MODULE if self.symbol else 0
        width = RIGHT - LEFT - (self.qr_side + 4 * MM if self.symbol else 0)
        size, names = fonts.fit(person.name, width, size=26, min_size=16, bold=True)
        self.left = [
            Line("救急医療情報シート", 20, True),
            *paragraph("救急隊・医療機関の方へ：この方の医療情報です", width, SMALL),
            *[Line(n, size, True, space_before=2 * MM if i == 0 else 0) for i, n in enumerate(names)],
            *paragraph(person.kana, width, 13),
            *paragraph(f"生年月日 {birth_line(person.birth_date, today)}", width, BIG, bold=True),
            *paragraph(f"性別 {person.sex}　血液型 {person.blood}", width, 13),
        ]
        self.caption = []
        if self.symbol:
            # Shrunk rather than wrapped: a card number broken over two lines is misread.
            for text, size, bold in (
                ("救急隊用QRコード", 10, True),
                ("読み取ると最新の情報", 9, False),
                (person.card.number, 8.5, False),
            ):
                fitted, lines = fonts.fit(text, self.qr_side, size=size, min_size=6, bold=bold)
                self.caption += [Line(line, fitted, bold) for line in lines]
        flags = _flags(person)
        self.flags = [Line("", BIG, badges=flags, space_before=2 * MM)] if flags else []
        self.height = max(height(self.left), self.qr_side + height(self.caption)) + height(self.flags) + 2 * MM

    def draw(self, canvas: Canvas) -> tuple[float, qr.QrPlacement | None]:
        placement = None
        if self.symbol:
            placement = qr.draw(canvas, self.symbol, x=RIGHT - self.qr_side, y=TOP - self.qr_side, module=QR_MODULE)
            draw_lines(canvas, RIGHT - self.qr_side, TOP - self.qr_side, self.caption)
        draw_lines(canvas, LEFT, TOP, self.left[:1], colour=NAVY)
        draw_lines(canvas, LEFT, TOP - self.left[0].height, self.left[1:])
        y = TOP - max(height(self.left), self.qr_side + height(self.caption))
        draw_lines(canvas, LEFT, y, self.flags)
        return TOP - self.height, placement


def _continuation_header(person: PersonData, today: date) -> list[Line]:
    return [
        Line("救急医療情報シート（続き）", BIG, True),
        *paragraph(
            f"{person.name}（{person.kana}）　生年月日 {birth_line(person.birth_date, today)}",
            RIGHT - LEFT,
            BIG,
            bold=True,
        ),
    ]


def _draw_part(canvas: Canvas, part: _Part, top: float) -> float:
    h = part.height()
    box(canvas, LEFT, top - h, LABEL_W, h, fill=NAVY if part.section.vital else PALE)
    draw_lines(canvas, LEFT + PAD, top - PAD, part.label, colour=(1, 1, 1) if part.section.vital else INK)
    draw_lines(canvas, CONTENT_X, top - PAD, [line for item in part.items for line in item])
    box(canvas, LEFT, top - h, RIGHT - LEFT, h, stroke=INK, line_width=0.8)
    return top - h


def _draw_memo(canvas: Canvas, top: float) -> None:
    heading = paragraph("変更メモ：内容が変わったら書き込んで、市にもお知らせください", RIGHT - LEFT, SMALL, bold=True)
    y = draw_lines(canvas, LEFT, top, heading) - 1 * MM
    lines = int((y - FOOTER_TOP - 1 * MM) // MEMO_LINE)
    bottom = y - lines * MEMO_LINE
    rules(
        canvas,
        [(LEFT, y - i * MEMO_LINE, RIGHT, y - i * MEMO_LINE) for i in range(lines + 1)]
        + [(x, y, x, bottom) for x in (LEFT, LEFT + 30 * MM, RIGHT - 32 * MM, RIGHT)],
        grey=0.35,
        line_width=0.5,
    )
    fill_colour(canvas, (0.35, 0.35, 0.35))
    for x, label in ((LEFT + 1.5 * MM, "日付"), (LEFT + 31.5 * MM, "変わった内容"), (RIGHT - 30.5 * MM, "書いた人")):
        fonts.draw(canvas, x, y - MEMO_LINE + 2.5 * MM, label, 9)


def _footer(canvas: Canvas, page: int, total: int, today: date, issuer: Issuer) -> None:
    rules(canvas, [(LEFT, FOOTER_TOP - 1 * MM, RIGHT, FOOTER_TOP - 1 * MM)], grey=0, line_width=0.5)
    fill_colour(canvas, INK)
    # The name is in each page's header; the footer says where the paper comes from and when.
    fonts.draw(canvas, LEFT, BOTTOM + 2 * MM, f"{issuer.office}　救急医療情報シート　印刷日 {date_both(today)}", 9.5)
    fonts.draw(canvas, RIGHT, BOTTOM + 2 * MM, f"{page} / {total} ページ", 10, bold=True, align="right")


@dataclass(frozen=True)
class SheetResult:
    pages: int
    qr: qr.QrPlacement | None


def draw_sheet(canvas: Canvas, person: PersonData, *, today: date, issuer: Issuer) -> SheetResult:
    """Draw one person's sheet (one or more A4 pages, each finished with ``showPage``)."""
    head = _FirstHeader(person, today)
    cont = _continuation_header(person, today)
    first_room = TOP - head.height - 2 * MM - FOOTER_TOP
    next_room = TOP - height(cont) - 3 * MM - FOOTER_TOP
    pages, room = paginate(sections(person), first_room, next_room)
    if room < 2 * SMALL + MEMO_MIN_LINES * MEMO_LINE + 3 * MM:
        pages.append([])
    placement = None
    for number, parts in enumerate(pages, start=1):
        canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
        if number == 1:
            y, placement = head.draw(canvas)
            y -= 2 * MM
        else:
            y = draw_lines(canvas, LEFT, TOP, cont) - 3 * MM
        for part in parts:
            y = _draw_part(canvas, part, y)
        if number == len(pages):
            _draw_memo(canvas, y - 3 * MM)
        _footer(canvas, number, len(pages), today, issuer)
        canvas.showPage()
    return SheetResult(pages=len(pages), qr=placement)
