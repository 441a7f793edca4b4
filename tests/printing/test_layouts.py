"""Building blocks of the printed material, without a database: fonts, the QR symbol, streaming, geometry."""

from __future__ import annotations

import io
import random
import secrets

import pytest
import segno
import zxingcpp
from PIL import Image

from app.cards.qr import QrSegment
from card_printing import card, fonts, qr, sheet
from card_printing.layout import A4_HEIGHT, A4_WIDTH
from card_printing.pdf import StreamingCanvas
from tests.printing.conftest import MM, raster

HOST = "HTTPS://LIFELINE.CITY.KAZO.SAITAMA.JP/C/"


def _segments(seed: int) -> list[QrSegment]:
    digits = str(int.from_bytes(b"\xd2" + random.Random(seed).randbytes(98), "big"))
    return [QrSegment(HOST, "alphanumeric"), QrSegment(digits, "numeric")]


def test_missing_glyphs_are_found_once_each_in_order():
    assert fonts.missing_glyphs("𠮷野 𠮷田") == ["𠮷"]
    assert fonts.missing_glyphs("見本 太郎 髙橋 山﨑 <b>&</para>") == []
    # A variation selector changes nothing printable: the base character prints.
    assert fonts.missing_glyphs("葛\U000e0100飾") == []


def test_draw_refuses_a_missing_glyph_rather_than_printing_tofu():
    canvas = StreamingCanvas(io.BytesIO(), title="t", author="a")
    with pytest.raises(fonts.MissingGlyph):
        fonts.draw(canvas, 10, 10, "𠮷野", 12)


def test_wrapping_keeps_numbers_together_and_follows_kinsoku():
    lines = fonts.wrap("電話番号は090-0000-0001です。よろしくお願いします。", 12 * 12, 12)
    assert any("090-0000-0001" in line for line in lines)
    assert not any(line.startswith(("。", "、", "）")) for line in lines)
    assert "".join(lines) == "電話番号は090-0000-0001です。よろしくお願いします。"


def test_fit_shrinks_to_the_minimum_then_wraps_without_losing_text():
    name = "寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末"
    size, lines = fonts.fit(name, 200, size=26, min_size=16, bold=True)
    assert size == 16 and len(lines) > 1 and "".join(lines) == name
    assert all(fonts.width(line, size, bold=True) <= 200 for line in lines)


def _image(symbol: qr.QrSymbol, scale: int = 4) -> Image.Image:
    image = Image.new("L", (symbol.total, symbol.total), 255)
    light = ["0" * symbol.total] * qr.QUIET_ZONE
    image.putdata(
        [
            0 if bit == "1" else 255
            for line in light + ["0000" + r + "0000" for r in symbol.rows] + light
            for bit in line
        ]
    )
    return image.resize((symbol.total * scale,) * 2, Image.NEAREST)


@pytest.mark.parametrize("seed", range(40))
def test_symbol_is_segnos_own_for_the_chosen_mask_and_decodes(seed):
    rng = random.Random(seed)
    host = rng.choice([HOST, "HTTP://127.0.0.1:8000/C/", "HTTPS://LL.CITY.KAZO.LG.JP/C/", "HTTPS://A/C/"])
    digits = str(int.from_bytes(b"\xd2" + rng.randbytes(rng.choice([10, 99, 106, 300, 1500])), "big"))
    symbol = qr.encode([QrSegment(host, "alphanumeric"), QrSegment(digits, "numeric")])
    # segno left to itself (modes detected per segment: alphanumeric prefix, numeric payload;
    # smallest version at level M) makes exactly this symbol for that mask.
    reference = segno.make([host, digits], error="M", boost_error=False, micro=False, mask=symbol.mask)
    assert (symbol.version, reference.error) == (reference.version, "M")
    assert symbol.rows == tuple(bytes(r).translate(bytes.maketrans(b"\0\1", b"01")).decode() for r in reference.matrix)
    assert [b.text for b in zxingcpp.read_barcodes(_image(symbol))] == [host + digits]


def test_mask_is_the_one_of_least_penalty():
    # segno scores masks before adding the format bits, ZXing and we on the finished symbol, so the
    # choices may differ; ours must be the minimum of our score over every mask segno makes.
    segments = _segments(4)
    symbol = qr.encode(segments)
    lines = {k: qr._lines(qr._segno(segments, mask=k)) for k in range(8)}
    layout = qr._Layout(symbol.size)
    scores = {k: qr._penalty(layout, layout.pack(rows), layout.pack(qr._transpose(rows))) for k, rows in lines.items()}
    assert scores[symbol.mask] == min(scores.values()) and lines[symbol.mask] == symbol.rows


def test_segments_their_mode_cannot_hold_are_refused():
    with pytest.raises(ValueError):
        qr.encode([QrSegment("https://lower.case/C/", "alphanumeric"), QrSegment("123", "numeric")])
    with pytest.raises(ValueError):
        qr.encode([QrSegment(HOST, "alphanumeric"), QrSegment("12A3", "numeric")])


@pytest.mark.parametrize("host", [HOST, "HTTPS://LL.CITY.KAZO.LG.JP/C/"])
def test_a_stored_symbol_comes_back_module_for_module(host):
    segments = [QrSegment(host, "alphanumeric"), _segments(5)[1]]
    text = host + segments[1].text
    symbol = qr.encode(segments)
    data = qr.to_bytes(symbol, text=text)
    # docs/card-format.md: format, version, mask, 8 bytes of the text's SHA-256, then the modules 8 to a byte.
    assert (
        data[:3] == bytes((qr.SYMBOL_FORMAT, symbol.version, symbol.mask))
        and len(data) == 11 + (symbol.size**2 + 7) // 8
    )
    assert qr.from_bytes(data, text=text) == symbol


def test_a_stored_symbol_that_is_not_this_texts_is_refused():
    segments = _segments(6)
    text = HOST + segments[1].text
    data = qr.to_bytes(qr.encode(segments), text=text)
    padded = bytearray(data)
    padded[-1] |= 1  # a V8 symbol has 2401 modules: the last 7 bits are padding
    for damaged in (b"", b"\x02" + data[1:], data[:-1], bytes(padded)):
        with pytest.raises(ValueError):
            qr.from_bytes(damaged, text=text)
    with pytest.raises(ValueError, match="another text"):
        qr.from_bytes(data, text=HOST + _segments(7)[1].text)


@pytest.mark.parametrize(("host", "version"), [(HOST, 8), ("HTTPS://LL.CITY.KAZO.LG.JP/C/", 7)])
def test_card_credentials_print_at_the_documented_versions(host, version):
    for seed in range(5):
        segments = [QrSegment(host, "alphanumeric"), _segments(seed)[1]]
        assert qr.encode(segments).version == version  # docs/card-format.md: V8-M, V7-M for hosts ≤ 19 characters


def test_qr_is_drawn_as_merged_runs_covering_exactly_the_dark_modules():
    symbol = qr.encode(_segments(1))
    rects = qr.rectangles(symbol)
    dark = {(r, c) for r, line in enumerate(symbol.rows) for c, bit in enumerate(line) if bit == "1"}
    cells = [(r, c) for c0, r, w in rects for c in range(c0, c0 + w)]
    assert len(cells) == len(set(cells)) and set(cells) == dark  # no overlap, nothing missing
    # Maximal runs: no two rectangles of a row touch, so far fewer operators than modules.
    assert not {(r, c0 + w) for c0, r, w in rects} & {(r, c0) for c0, r, w in rects}
    assert len(rects) < 0.6 * len(dark)


def test_module_sizes_are_designs_on_the_printer_grid():
    # DESIGN.md §4: ≥ 0.5 mm on the card, ≥ 0.6 mm on the sheet; whole dots at 300 dpi (and so at 600).
    assert card.QR_MODULE / MM >= 0.5 and sheet.QR_MODULE / MM >= 0.6
    assert card.QR_MODULE >= qr.MIN_MODULE and sheet.QR_MODULE >= qr.SHEET_MIN_MODULE
    for module in (card.QR_MODULE, sheet.QR_MODULE):
        assert module / qr.DOT_300 == pytest.approx(round(module / qr.DOT_300))


@pytest.mark.parametrize("module", [0.41 * MM, 5 * qr.DOT_300, 0.49 * MM, 6.5 * qr.DOT_300])
def test_qr_module_below_the_minimum_or_off_the_printer_grid_is_refused(module):
    # 5 dots (0.423 mm) was the card's module until it proved to read poorly under camera blur.
    canvas = StreamingCanvas(io.BytesIO(), title="t", author="a")
    with pytest.raises(ValueError):
        qr.draw(canvas, qr.encode(_segments(2)), x=0, y=0, module=module)


def test_ten_up_cells_are_the_common_2_by_5_layout_and_backs_mirror_columns():
    fronts = [card.cell_origin(i) for i in range(10)]
    xs = sorted({round(x / MM, 2) for x, _ in fronts})
    ys = sorted({round(y / MM, 2) for _, y in fronts})
    assert xs == [round(14 + (91 - 85.6) / 2, 2), round(14 + 91 + (91 - 85.6) / 2, 2)]
    assert ys == [round(11 + 55 * k + 0.5, 2) for k in range(5)]
    for i in range(10):
        fx, fy = card.cell_origin(i)
        bx, by = card.cell_origin(i, back=True)
        assert by == fy and abs((fx + card.CARD_W / 2) + (bx + card.CARD_W / 2) - A4_WIDTH) < 1e-6


def test_streaming_canvas_writes_pages_as_they_are_finished_and_keeps_none():
    out = io.BytesIO()
    canvas = StreamingCanvas(out, title="t", author="a")
    sizes, objects = [], []
    for n in range(300):
        canvas.setPageSize((A4_WIDTH, A4_HEIGHT))
        fonts.draw(canvas, 100, 700, f"ページ {n} 見本 太郎", 14)
        canvas.showPage()
        sizes.append(out.tell())
        objects.append(len(canvas._doc.idToObject))
    canvas.close()
    assert sizes[10] < sizes[100] < sizes[299]  # on disk as it goes
    assert objects[299] == objects[10]  # nothing accumulates per page
    pdf = out.getvalue()
    from tests.printing.conftest import text_of

    texts = text_of(pdf)
    assert len(texts) == 300 and "ページ 299" in texts[299]


def test_qr_on_a_page_decodes_at_the_cards_module_and_150_dpi_blurred():
    out = io.BytesIO()
    canvas = StreamingCanvas(out, title="t", author="a")
    segments = _segments(3)
    placement = qr.draw(canvas, qr.encode(segments), x=100, y=500, module=card.QR_MODULE)
    canvas.showPage()
    canvas.close()
    assert placement.module_mm >= 0.5
    for dpi, blur in ((300, 0), (150, 0.6)):
        found = zxingcpp.read_barcodes(raster(out.getvalue(), 0, dpi, blur=blur))
        assert [b.text for b in found] == [HOST + segments[1].text]


def test_access_code_looks_right():
    from app.residents import service as residents

    code = residents.new_code()
    assert len(code) == 12 and set(code) <= set(residents.ALPHABET)
    assert residents.normalise("abcd-ｅｆｇｈ 2345") == "ABCDEFGH2345"
    assert secrets.compare_digest(residents.normalise(code), code)
