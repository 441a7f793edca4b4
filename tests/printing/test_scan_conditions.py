"""The printed QR codes read as a phone camera in a dark room sees them, not only as a flatbed scanner does.

DESIGN.md §4: modules ≥ 0.5 mm on the card and ≥ 0.6 mm on the sheet, because a shaky hand in
a dark room blurs. The card's front and the information sheet are drawn once per module (no
database: a fixed QR text of a real credential's length, at V7 and at V8), rasterised at 150 dpi
and degraded. Every condition is harsher than the other printing tests' (a Gaussian blur of
0.6–0.8 px, nothing else), and each was checked to defeat the earlier module sizes (0.423 mm on
the card, 0.593 mm on the sheet) on these symbols and 30 others like them, all of which the
present sizes read: a failure here means the print has lost robustness, not that the test is
too strict. Lower contrast, noise or a tilt alone defeat neither size (the decoder binarises
locally and reads steep angles), so each comes with a blur as well, as it does in a dark room.
"""

from __future__ import annotations

import io
import random
from datetime import date
from functools import cache

import pytest
from PIL import Image, ImageChops, ImageFilter

from card_printing import card, qr, sheet
from card_printing.data import CardInfo, Contact, Doctor, Entry, Home, Issuer, PersonData
from card_printing.pdf import StreamingCanvas
from tests.printing.conftest import decode, raster

DPI = 150
ISSUER = Issuer(office="加須市役所", phone="0480-62-1111", public_url="https://ll.city.kazo.lg.jp")
# A host of ≤ 19 characters prints at V7, the 29-character one at V8 (docs/card-format.md).
HOSTS = {7: "HTTPS://LL.CITY.KAZO.LG.JP/C/", 8: "HTTPS://LIFELINE.CITY.KAZO.SAITAMA.JP/C/"}


def _qr_text(version: int) -> str:
    # A credential's COSE is 99 bytes, printed as one decimal number (docs/card-format.md).
    digits = str(int.from_bytes(b"\xd2" + random.Random(version).randbytes(98), "big"))
    return HOSTS[version] + digits


def _person(text: str) -> PersonData:
    host, digits = text.rsplit("/", 1)
    symbol = qr.encode([qr.QrSegment(host + "/", "alphanumeric"), qr.QrSegment(digits, "numeric")])
    return PersonData(
        id=1,
        household_id=1,
        name="見本 太郎",
        kana="ミホン タロウ",
        birth_date=date(1940, 3, 2),
        sex="男",
        blood="A+",
        phone="0480-00-0000",
        dnar="exists",
        dnar_location="冷蔵庫のキット内（封筒）",
        acp_notes="",
        allergies=(Entry("薬剤", "ペニシリン系抗菌薬（発疹）", ""),),
        medications=(Entry("定期", "ワルファリン錠1mg 1日1回", "", anticoagulant=True),),
        conditions=(Entry("現在の病気", "2型糖尿病", ""),),
        family_doctor=Doctor("架空 一郎", "内科", "見本内科クリニック", "0480-00-1001"),
        second_doctor=Doctor("架空 二郎", "糖尿病内科", "見本総合病院", "0480-00-1002"),
        contacts=(Contact("見本 花江", "ミホン ハナエ", "長女", "090-0000-0001", "", ""),),
        usual_state="",
        infection_notes="",
        insurance=(),
        last_confirmed_on=None,
        last_confirmed_by="",
        home=Home("347-0000", "見本町1-2-3", "", ""),
        card=CardInfo(row_id=1, card_id="00" * 8, serial=1, number="K-0001-2345-6789", symbol=symbol),
    )


@pytest.fixture(scope="module")
def printed():
    """(kind, version) -> (the first page at 150 dpi, the QR text), each drawn and rasterised once."""
    today = date(2026, 11, 24)

    @cache
    def get(kind: str, version: int) -> tuple[Image.Image, str]:
        text = _qr_text(version)
        person = _person(text)
        assert person.card.symbol.version == version
        out = io.BytesIO()
        canvas = StreamingCanvas(out, title="t", author="a")
        if kind == "card":
            layout = card.prepare(person, today=today, issuer=ISSUER)
            card.draw_cr80(canvas, [layout], issuer=ISSUER)
        else:
            sheet.draw_sheet(canvas, person, today=today, issuer=ISSUER)
        canvas.close()
        return raster(out.getvalue(), 0, DPI), text

    return get


def _blur(image: Image.Image, radius: float) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius)) if radius else image


def blurred(radius: float):
    return lambda image: _blur(image, radius)


def low_contrast(dark: int, light: int, noise: float, radius: float):
    """Black and white squeezed into dark..light, softened by ``radius``, with uniform noise of s.d. ``noise``."""

    def apply(image: Image.Image) -> Image.Image:
        image = _blur(image, radius).point(lambda v: round(dark + (light - dark) * v / 255))
        amplitude = noise * 3**0.5 / 127.5
        grain = Image.frombytes("L", image.size, random.Random(0).randbytes(image.width * image.height))
        return ImageChops.add(image, grain.point(lambda v: round(128 + (v - 127.5) * amplitude)), offset=-128)

    return apply


def _solve(rows: list[list[float]]) -> list[float]:
    """Gauss–Jordan elimination of an augmented n × (n + 1) system."""
    n = len(rows)
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(rows[r][c]))
        rows[c], rows[pivot] = rows[pivot], rows[c]
        for r in range(n):
            if r != c:
                f = rows[r][c] / rows[c][c]
                rows[r] = [x - f * y for x, y in zip(rows[r], rows[c])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def tilted(far: float, radius: float):
    """Seen at an angle from the left: the right edge (where the QR is) ``far`` times the left's height, nearer
    the left as well (foreshortened), then softened by ``radius``."""

    def apply(image: Image.Image) -> Image.Image:
        w, h = image.size
        right = w * (1 + far) / 2
        seen = [(0, 0), (right, h * (1 - far) / 2), (right, h * (1 + far) / 2), (0, h)]
        page = [(0, 0), (w, 0), (w, h), (0, h)]
        rows = []  # PIL wants the map from the output (seen) to the input (page)
        for (x, y), (u, v) in zip(seen, page):
            rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, u])
            rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, v])
        warped = image.transform((w, h), Image.PERSPECTIVE, _solve(rows), Image.BICUBIC, fillcolor=255)
        return _blur(warped, radius)

    return apply


def photographed(width: int, *, angle: float, shade: float, radius: float, quality: int):
    """A phone photo of the whole page: turned by ``angle`` on a darker desk, ``width`` pixels across,
    lit unevenly (down to ``shade`` of the light in the far corner), soft, JPEG-compressed."""

    def apply(image: Image.Image) -> Image.Image:
        image = image.rotate(angle, Image.BICUBIC, expand=True, fillcolor=90)
        image = image.resize((width, round(width * image.height / image.width)), Image.LANCZOS)
        down = Image.linear_gradient("L").resize(image.size)
        across = Image.linear_gradient("L").rotate(90).resize(image.size)
        light = ImageChops.add(down, across, scale=2).point(lambda v: round(255 - (1 - shade) * v))
        image = _blur(ImageChops.multiply(image, light), radius)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("L")

    return apply


CARD_CONDITIONS = {
    "blur 1.25 px": blurred(1.25),
    "grey 96-160, noise 6, blur 1.1 px": low_contrast(96, 160, 6, 1.1),
    "tilted, far edge 0.65, blur 0.8 px": tilted(0.65, 0.8),
}
SHEET_CONDITIONS = {
    "blur 1.8 px": blurred(1.8),
    "grey 96-160, noise 8, blur 1.1 px": low_contrast(96, 160, 8, 1.1),
    "tilted, far edge 0.75, blur 1.2 px": tilted(0.75, 1.2),
    "photo of the whole page, 700 px across, turned 3 deg, shade 0.5, blur 0.8 px, JPEG 70": photographed(
        700, angle=3, shade=0.5, radius=0.8, quality=70
    ),
}


@pytest.mark.parametrize("version", [7, 8])
@pytest.mark.parametrize("condition", CARD_CONDITIONS)
def test_card_front_reads_under(printed, condition, version):
    image, text = printed("card", version)
    assert [b.text for b in decode(CARD_CONDITIONS[condition](image))] == [text]


@pytest.mark.parametrize("version", [7, 8])
@pytest.mark.parametrize("condition", SHEET_CONDITIONS)
def test_information_sheet_reads_under(printed, condition, version):
    image, text = printed("sheet", version)
    assert [b.text for b in decode(SHEET_CONDITIONS[condition](image))] == [text]
