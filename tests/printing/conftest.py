"""Shared helpers for the printing tests: a fully filled-in household, rasterising and reading PDFs."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageFilter

from app.cards import service as cards
from app.cards.credential import Status, verify
from app.persons import dataset
from app.persons.models import ClinicalEntryCreate, EmergencyContactCreate
from tests.factories import FACTORY_ACTOR

MM = 72 / 25.4


@dataclass
class World:
    household: object
    taro: object
    ume: object
    family_doctor: object
    second_doctor: object


def add(db, person, kind, text, **kw):
    return dataset.add_entry(
        session=db, actor=FACTORY_ACTOR, person_id=person.id, data=ClinicalEntryCreate(kind=kind, text=text, **kw)
    )


def contact(db, person, name, relation, phone, kana=""):
    return dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=person.id,
        data=EmergencyContactCreate(name=name, kana=kana, relation=relation, phone=phone),
    )


@pytest.fixture
def world(db, make) -> World:
    """見本 太郎 and 見本 梅子, as in the demo data: doctors, medications, contacts, consent."""
    family = make.practitioner(phone="0480-00-1001", specialty="内科")
    second = make.practitioner(phone="0480-00-1002", specialty="糖尿病内科")
    household = make.household(address_line="見本町1-2-3", welfare_commissioner="民生 委子（架空）")
    taro = make.person(
        household,
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        family_doctor_id=family.id,
        second_doctor_id=second.id,
        dnar_status="exists",
        dnar_location="冷蔵庫のキット内（封筒）",
        blood_abo="A",
        blood_rh="+",
    )
    ume = make.person(
        household,
        family_name="見本",
        given_name="梅子",
        family_name_kana="ミホン",
        given_name_kana="ウメコ",
        family_doctor_id=family.id,
    )
    for person in (taro, ume):
        make.consent(person)
    add(db, taro, "allergy", "ペニシリン系抗菌薬（発疹）", category="drug")
    add(db, taro, "medication", "ワルファリン錠1mg 1日1回", is_anticoagulant=True)
    add(db, taro, "medication", "インスリン グラルギン 朝10単位", is_insulin=True)
    add(db, taro, "condition", "2型糖尿病")
    contact(db, taro, "見本 花江", "長女", "090-0000-0001", kana="ミホン ハナエ")
    contact(db, taro, "見本 次郎", "長男", "090-0000-0002")
    add(db, ume, "medication", "ドネペジル錠5mg 1日1回")
    contact(db, ume, "見本 花江", "長女", "090-0000-0001")
    return World(household, taro, ume, family, second)


def pages(pdf: bytes) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(pdf)


def text_of(pdf: bytes) -> list[str]:
    """Each page's text, lines joined as printed (wrapped text is split by line breaks)."""
    doc = pages(pdf)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def flat(text: str) -> str:
    return text.replace("\r", "").replace("\n", "").replace("\ufffe", "")


def raster(pdf: bytes, page: int, dpi: int, *, blur: float = 0.0) -> Image.Image:
    doc = pages(pdf)
    try:
        image = doc[page].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()
    return image.filter(ImageFilter.GaussianBlur(blur)) if blur else image


def decode(image: Image.Image) -> list:
    return [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def check_genuine(db, text: str, person) -> None:
    """The QR names the person's current card, and its signature verifies with the published keys."""
    result = verify(
        text,
        keys=cards.keystore().verification_keys(),
        revocations=cards.revocation_list(session=db),
        now=int(time.time()),
    )
    assert result.status == Status.GENUINE, result
    card = cards.current(session=db, person_id=person.id)
    assert card is not None
    assert result.claims.card_id.hex() == card.card_id and result.claims.serial == card.serial
    assert text == card.qr_text


def qr_texts(pdf: bytes, page: int, *, dpi: int = 300, blur: float = 0.0) -> list[str]:
    return [b.text for b in decode(raster(pdf, page, dpi, blur=blur))]


def page_size_mm(pdf: bytes, page: int) -> tuple[float, float]:
    doc = pages(pdf)
    try:
        w, h = doc[page].get_size()
    finally:
        doc.close()
    return w / MM, h / MM


def objects_bounds(pdf: bytes, page: int) -> list[tuple[float, float, float, float]]:
    """Bounding boxes (points) of every drawn object of a page (forms as a whole)."""
    doc = pages(pdf)
    try:
        # Top-level objects: a form XObject reports the bounds of its whole content, in page space.
        return [obj.get_bounds() for obj in doc[page].get_objects(max_depth=0)]
    finally:
        doc.close()


def bytes_io() -> io.BytesIO:
    return io.BytesIO()


def module_mm(barcode, dpi: int) -> float:
    """A decoded symbol's module size in the raster, in mm: the width of its top edge over its modules."""
    corners = barcode.position
    width_px = (
        (corners.top_right.x - corners.top_left.x) ** 2 + (corners.top_right.y - corners.top_left.y) ** 2
    ) ** 0.5
    modules = 4 * int(barcode.extra["Version"]) + 17
    # The corners are the centres of the outermost pixels: one pixel more is the symbol's width.
    return (width_px + 1) / modules * 25.4 / dpi


def assert_quiet_zone(image: Image.Image, barcode) -> None:
    """The 4 modules around the symbol are blank in the raster (nothing printed into the quiet zone)."""
    modules = 4 * int(barcode.extra["Version"]) + 17
    p = barcode.position
    left, top = min(p.top_left.x, p.bottom_left.x), min(p.top_left.y, p.top_right.y)
    right, bottom = max(p.top_right.x, p.bottom_right.x), max(p.bottom_left.y, p.bottom_right.y)
    module = (right - left) / (modules - 1)
    margin = 4 * module
    grey = image.convert("L")
    ring = [
        (x, y)
        for x in range(int(left - margin), int(right + margin) + 1)
        for y in range(int(top - margin), int(bottom + margin) + 1)
        if not (left - module < x < right + module and top - module < y < bottom + module)
    ]
    dark = [xy for xy in ring if grey.getpixel(xy) < 128]
    assert not dark, f"{len(dark)} dark pixels in the quiet zone, e.g. {dark[:3]}"
