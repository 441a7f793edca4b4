"""Every kind of PDF, printed from the database: rasterised, QR decoded and verified, text and geometry checked."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from sqlalchemy import text as sql
from sqlmodel import select

from app.cards import service as cards
from app.cards.models import Card
from app.households.models import Household
from app.persons import dataset
from app.persons.models import EmergencyContactCreate
from app.printing import batch
from app.printing.snapshots import card_info, issuer_from_settings, load_people
from app.residents import service as residents
from card_printing import card, qr, sheet
from card_printing.letter import format_code
from card_printing.pdf import StreamingCanvas
from tests.factories import FACTORY_ACTOR
from tests.printing.conftest import (
    MM,
    add,
    assert_quiet_zone,
    check_genuine,
    contact,
    decode,
    flat,
    module_mm,
    objects_bounds,
    page_size_mm,
    qr_texts,
    raster,
    text_of,
)

A4_MM = (210.0, 297.0)


def _no_audit(action, people):
    pass


def _print(kind, db, ids, **kw) -> tuple[bytes, batch.Summary]:
    out = io.BytesIO()
    runner = {"kits": batch.print_kits, "sheets": batch.print_sheets, "cards": batch.print_cards}[kind]
    key = "household_ids" if kind == "kits" else "person_ids"
    summary = runner(
        engine=db.connection(), actor=FACTORY_ACTOR, out=out, audit=kw.pop("audit", _no_audit), **{key: ids}, **kw
    )
    db.expire_all()
    return out.getvalue(), summary


def _inside_printable_area(pdf: bytes, page: int, margin_mm: float = 5.0) -> None:
    w, h = page_size_mm(pdf, page)
    bounds = objects_bounds(pdf, page)
    assert bounds
    for left, bottom, right, top in bounds:
        assert left >= margin_mm * MM - 0.01 and bottom >= margin_mm * MM - 0.01, (page, left / MM, bottom / MM)
        assert right <= (w - margin_mm) * MM + 0.01 and top <= (h - margin_mm) * MM + 0.01, (page, right / MM, top / MM)


def test_sheet_shows_the_dataset_and_a_genuine_qr(db, world):
    pdf, summary = _print("sheets", db, [world.taro.id])
    assert summary.sheets == 1 and summary.pages == 1
    assert page_size_mm(pdf, 0) == pytest.approx(A4_MM, abs=0.01)
    text = flat(text_of(pdf)[0])
    for expected in (
        "見本 太郎",
        "ミホン タロウ",
        "昭和15年3月2日（1940年3月2日）",
        "ペニシリン系抗菌薬（発疹）",
        "ワルファリン錠1mg 1日1回",
        "抗凝固薬",
        "インスリン グラルギン 朝10単位",
        "インスリン使用",
        "2型糖尿病",
        "0480-00-1001",
        "0480-00-1002",
        "二人目の主治医（糖尿病内科）",
        "見本 花江（長女）",
        "090-0000-0001",
        "DNAR書面：あり",
        "冷蔵庫のキット内（封筒）",
        "最終確認",
        "確認者 テスト（市職員）",
        "変更メモ",
    ):
        assert expected in text, expected
    for dpi, blur in ((300, 0), (150, 0.8)):
        texts = qr_texts(pdf, 0, dpi=dpi, blur=blur)
        assert len(texts) == 1, (dpi, blur)
        check_genuine(db, texts[0], world.taro)
    image = raster(pdf, 0, 300)
    found = decode(image)[0]
    assert_quiet_zone(image, found)
    # DESIGN.md §4: modules ≥ 0.6 mm on the sheet, for a crew scanning from a distance.
    assert found.extra["ECLevel"] == "M" and module_mm(found, 300) >= 0.6
    _inside_printable_area(pdf, 0)


def test_sheet_prints_a_contact_note_stored_encrypted(db, world):
    dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=world.ume.id,
        data=EmergencyContactCreate(name="見本 次郎", relation="長男", phone="090-0000-0002", note="平日日中は勤務先"),
    )
    stored = db.exec(sql("SELECT note FROM emergencycontact WHERE person_id = :id").bindparams(id=world.ume.id)).all()
    assert len(stored) == 2 and all(v.startswith("enc1:") for (v,) in stored)
    pdf, _ = _print("sheets", db, [world.ume.id])
    assert "平日日中は勤務先" in flat(text_of(pdf)[0])


def test_kit_is_letter_sheets_and_stickers_with_a_working_access_code(db, world):
    pdf, summary = _print("kits", db, [world.household.id])
    texts = [flat(t) for t in text_of(pdf)]
    assert summary.households == 1 and summary.sheets == 2 and len(texts) == 4
    letter, taro, ume, stickers = texts
    assert "救急医療情報キットをお届けします" in letter and "見本 太郎 様" in letter and "見本 梅子 様" in letter
    code = re.search(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", letter).group(0)
    assert format_code(residents.normalise(code)) == code
    assert residents.verify_access_code(session=db, household_id=world.household.id, code=code)
    assert "ワルファリン錠1mg" in taro and "ドネペジル錠5mg 1日1回" in ume and "ミホン ウメコ" in ume
    assert "救急医療情報は冷蔵庫に" in stickers and "この冷蔵庫の中にあります" in stickers
    for page, person in ((1, world.taro), (2, world.ume)):
        check_genuine(db, qr_texts(pdf, page, dpi=150, blur=0.8)[0], person)
    for page in range(4):
        assert page_size_mm(pdf, page) == pytest.approx(A4_MM, abs=0.01)
        _inside_printable_area(pdf, page)
    db.refresh(world.household)
    assert world.household.kit_printed_at is not None
    # Printing again issues a new code; the first no longer works.
    pdf2, _ = _print("kits", db, [world.household.id])
    assert not residents.verify_access_code(session=db, household_id=world.household.id, code=code)


def test_cr80_card_page_size_qr_module_and_text(db, world):
    pdf, summary = _print("cards", db, [world.taro.id], layout="cr80")
    assert summary.cards == 1 and summary.pages == 2  # front, back
    for page in (0, 1):
        assert page_size_mm(pdf, page) == pytest.approx((85.6, 54.0), abs=0.01)
    front, back = (flat(t) for t in text_of(pdf))
    for expected in (
        "見本 太郎",
        "ミホン タロウ",
        "昭和15年3月2日（1940年3月2日）",
        "0480-00-1001",
        "0480-00-1002",
        "かかりつけ医カード",
    ):
        assert expected in front, expected
    number = cards.current(session=db, person_id=world.taro.id).card_number
    assert number in front and number in back
    assert "見本 花江（長女）" in back and "090-0000-0001" in back and "QRコードに個人情報は含まれていません" in back
    for dpi, blur in ((300, 0), (150, 0.6)):
        found = decode(raster(pdf, 0, dpi, blur=blur))
        assert len(found) == 1, (dpi, blur)
        check_genuine(db, found[0].text, world.taro)
    # Module size measured from the raster (600 dpi): the symbol's width over its modules.
    image = raster(pdf, 0, 600)
    found = decode(image)[0]
    assert_quiet_zone(image, found)
    # The demo/test host (http://127.0.0.1:8000) is short enough for version 7 (docs/card-format.md).
    assert found.extra["ECLevel"] == "M" and int(found.extra["Version"]) <= 7
    # DESIGN.md §4: modules ≥ 0.5 mm on the card.
    assert module_mm(found, 600) >= 0.5


def test_card_module_size_from_the_drawing(db, world):
    person = load_people(session=db, person_ids=[world.taro.id])[0]
    person.card = card_info(cards.ensure_issued(session=db, actor=FACTORY_ACTOR, person_id=world.taro.id))
    layout = card.prepare(person, today=datetime.date(2026, 11, 24), issuer=issuer_from_settings())
    out = io.BytesIO()
    canvas = StreamingCanvas(out, title="t", author="a")
    result = card.draw_cr80(canvas, [layout], issuer=issuer_from_settings())
    canvas.close()
    placement = result.qr[0]
    # DESIGN.md §4: ≥ 0.5 mm, and a whole number of dots at 300 dpi (on the printer grid).
    assert placement.module_mm >= 0.5
    assert placement.module / qr.DOT_300 == pytest.approx(round(placement.module / qr.DOT_300))
    # Quiet zone: nothing else drawn within 4 modules of the symbol.
    left, bottom = placement.x + 4 * placement.module, placement.y + 4 * placement.module
    side = placement.side - 8 * placement.module
    for x0, y0, x1, y1 in objects_bounds(out.getvalue(), 0):
        inside_symbol = (
            x0 >= left - 0.01 and x1 <= left + side + 0.01 and y0 >= bottom - 0.01 and y1 <= bottom + side + 0.01
        )
        apart = (
            x1 <= placement.x + 0.01
            or x0 >= placement.x + placement.side - 0.01
            or y1 <= placement.y + 0.01
            or y0 >= placement.y + placement.side - 0.01
        )
        band = y0 >= 54 * MM - card.BAND_H - 0.01  # the band is above the quiet zone
        assert inside_symbol or apart or band, (x0, y0, x1, y1)


def test_sheet_module_size_from_the_drawing(db, world):
    person = load_people(session=db, person_ids=[world.taro.id])[0]
    person.card = card_info(cards.ensure_issued(session=db, actor=FACTORY_ACTOR, person_id=world.taro.id))
    canvas = StreamingCanvas(io.BytesIO(), title="t", author="a")
    result = sheet.draw_sheet(canvas, person, today=datetime.date(2026, 11, 24), issuer=issuer_from_settings())
    canvas.close()
    # DESIGN.md §4: ≥ 0.6 mm on the sheet, a whole number of dots at 300 dpi.
    assert result.qr.module_mm >= 0.6
    assert result.qr.module / qr.DOT_300 == pytest.approx(round(result.qr.module / qr.DOT_300))


def test_ten_up_sheet_positions_and_mirrored_backs(db, make, world):
    people = [world.taro, world.ume]
    for n in range(9):
        person = make.person(
            world.household, given_name=f"試験{n}", family_name_kana="ミホン", given_name_kana="シケン"
        )
        make.consent(person)
        contact(db, person, f"連絡 {n}号", "長女", f"090-1111-{n:04d}")
        people.append(person)
    pdf, summary = _print("cards", db, [p.id for p in people], layout="a4")
    assert summary.cards == 11 and summary.pages == 4  # 10 + 1 cards: two sheets, each front and back
    assert page_size_mm(pdf, 0) == pytest.approx(A4_MM, abs=0.01)
    image = raster(pdf, 0, 300)
    found = decode(image)
    assert len(found) == 10
    by_card = {c.qr_text: c for c in db.exec(select(Card)).all()}
    for barcode in found:
        holder = by_card[barcode.text]
        index = [p.id for p in people].index(holder.person_id)
        x, y = card.cell_origin(index)
        cx = (barcode.position.top_left.x + barcode.position.bottom_right.x) / 2 / 300 * 72
        cy = (image.height - (barcode.position.top_left.y + barcode.position.bottom_right.y) / 2) / 300 * 72
        assert x < cx < x + card.CARD_W and y < cy < y + card.CARD_H, (index, cx / MM, cy / MM)
        check_genuine(db, barcode.text, next(p for p in people if p.id == holder.person_id))
    # An office printer at 150 dpi, slightly soft: all ten still read.
    assert {b.text for b in decode(raster(pdf, 0, 150, blur=0.6))} == {b.text for b in found}
    # On the back page, card i's contact sits in the mirrored column (long-edge duplex).
    from tests.printing.conftest import pages

    doc = pages(pdf)
    try:
        textpage = doc[1].get_textpage()
        for index in range(2, 10):
            x, y = card.cell_origin(index, back=True)
            assert f"090-1111-{index - 2:04d}" in textpage.get_text_bounded(x, y, x + card.CARD_W, y + card.CARD_H)
    finally:
        doc.close()
    for page in range(4):
        _inside_printable_area(pdf, page)


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "&amp; &", "</para>", "<b>太字</b>", "%(name)s {0}"])
def test_markup_like_text_prints_literally(db, make, world, hostile):
    person = make.person(world.household, family_name=hostile[:50], given_name="", family_name_kana="テスト")
    make.consent(person)
    add(db, person, "medication", f"薬 {hostile}")
    contact(db, person, f"連絡 {hostile}"[:100], "長女", "090-0000-0009")
    sheet_pdf, _ = _print("sheets", db, [person.id])
    text = flat(text_of(sheet_pdf)[0])
    assert hostile[:50] in text and f"薬 {hostile}" in text and f"連絡 {hostile}" in text
    card_pdf, _ = _print("cards", db, [person.id])
    assert hostile[:50] in flat(text_of(card_pdf)[0])


def test_forty_medications_continue_on_further_pages_with_the_header(db, make, world):
    person = make.person(
        world.household, family_name="見本", given_name="多薬", family_name_kana="ミホン", given_name_kana="タヤク"
    )
    make.consent(person)
    medications = [f"テスト薬{i:02d}号錠 {i}mg 1日1回" for i in range(40)]
    for i, name in enumerate(medications):
        add(db, person, "medication", name, is_anticoagulant=i % 9 == 0)
    for i in range(12):
        add(db, person, "condition", f"テスト病名{i:02d}")
    pdf, summary = _print("sheets", db, [person.id])
    texts = [flat(t) for t in text_of(pdf)]
    assert summary.pages >= 2 and len(texts) == summary.pages
    for page, text in enumerate(texts):
        assert "見本 多薬" in text and f"{page + 1} / {len(texts)} ページ" in text
        if page:
            assert "救急医療情報シート（続き）" in text and "昭和15年3月2日" in text
    everything = "".join(texts)
    for name in medications + [f"テスト病名{i:02d}" for i in range(12)]:
        assert name in everything, name
    assert "服用中の薬（続き）" in everything
    for page in range(len(texts)):
        _inside_printable_area(pdf, page)


def test_a_long_name_shrinks_then_wraps_and_is_printed_whole(db, make, world):
    long_name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末食う寝る処に住む処やぶら小路の藪柑子"
    person = make.person(world.household, family_name=long_name[:50], given_name="", family_name_kana="ジュゲム")
    make.consent(person)
    for kind in ("sheets", "cards"):
        pdf, _ = _print(kind, db, [person.id])
        assert long_name[:50] in flat(text_of(pdf)[0]), kind


def test_missing_glyph_needs_a_print_name_and_never_prints_tofu(db, make, world):
    person = make.person(
        world.household, family_name="𠮷野", given_name="試子", family_name_kana="ヨシノ", given_name_kana="タメコ"
    )
    make.consent(person)
    contact(db, person, "𠮷野 見子", "姪", "090-0000-0003", kana="ヨシノ ミコ")
    from app.core.errors import Invalid

    with pytest.raises(Invalid) as refused:
        _print("sheets", db, [person.id])
    assert "𠮷" in str(refused.value) and "U+20BB7" in str(refused.value) and "𠮷野 試子" in str(refused.value)
    person.print_name = "吉野 試子"
    db.add(person)
    db.commit()
    pdf, summary = _print("sheets", db, [person.id])
    text = flat(text_of(pdf)[0])
    assert "吉野 試子" in text and "𠮷" not in text
    assert "ヨシノ ミコ（姪）" in text  # the contact's name prints in kana
    # A missing glyph where no substitute exists (a medication) refuses the print.
    add(db, person, "medication", "𠮷草エキス")
    with pytest.raises(Invalid) as refused:
        _print("sheets", db, [person.id])
    assert "服用中の薬" in str(refused.value)


def test_household_with_a_refused_member_is_left_out_of_a_batch_with_the_reason(db, make, world):
    other = make.household()
    person = make.person(
        other, family_name="𠮷田", given_name="一", family_name_kana="ヨシダ", given_name_kana="ハジメ"
    )
    make.consent(person)
    pdf, summary = _print("kits", db, [world.household.id, other.id])
    assert summary.households == 1 and len(summary.skipped) == 1
    assert "𠮷" in summary.skipped[0] and f"世帯 {other.id}" in summary.skipped[0]
    assert db.get(Household, other.id).kit_printed_at is None


def test_person_without_consent_is_not_printed(db, make, world):
    person = make.person(world.household)
    from app.core.errors import Invalid

    with pytest.raises(Invalid) as refused:
        _print("sheets", db, [person.id])
    assert "同意" in str(refused.value)


def test_a_failing_audit_prints_nothing_and_changes_nothing(db, world, tmp_path):
    from app.core.errors import DomainError

    def refuse(action, people):
        raise DomainError("アクセス記録を書き込めないため、印刷を中止しました。")

    out = tmp_path / "kits.pdf"
    with pytest.raises(DomainError):
        batch.print_kits(
            engine=db.connection(), actor=FACTORY_ACTOR, household_ids=[world.household.id], out=out, audit=refuse
        )
    assert not out.exists() and not list(tmp_path.iterdir())
    db.refresh(world.household)
    assert world.household.kit_printed_at is None


def test_a_large_household_letter_continues_on_a_second_page(db, make, world):
    for n in range(6):
        person = make.person(
            world.household, given_name=f"家族{n}", family_name_kana="ミホン", given_name_kana="カゾク"
        )
        make.consent(person)
    pdf, summary = _print("kits", db, [world.household.id])
    texts = [flat(t) for t in text_of(pdf)]
    assert summary.sheets == 8 and len(texts) == 2 + 8 + 1
    assert "家族5 様" in texts[0] and "1 / 2" in texts[0] and "2 / 2" in texts[1]
    assert re.search(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", texts[0] + texts[1])
    for page in (0, 1):
        _inside_printable_area(pdf, page)
