"""A fake camera for Chromium: a Y4M video of a printed demo card.

Chromium's ``--use-file-for-fake-video-capture`` plays a Y4M file as the camera. The card is the
real printed one: the CR80 PDF from ``card_printing`` rasterised with pypdfium2, held in front of
the camera (filling most of the frame, on a dark table). Without a PDF, a plain card with the QR
drawn by segno stands in.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT = 640, 480
CARD_MM = (85.6, 54.0)


def card_from_pdf(pdf: Path, qr_text: str, *, dpi: int = 600) -> Image.Image:
    """The printed card front whose QR code reads ``qr_text`` (a household's PDF has several, fronts and backs)."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        for page in document:
            if any(code.text == qr_text for code in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())):
                return page.render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
    raise AssertionError(f"no card in {pdf} carries the QR {qr_text[:40]}…")


def card_from_qr(qr_text: str) -> Image.Image:
    """Stand-in card: white CR80 with the QR at its printed size (0.508 mm modules: 6 dots at 300 dpi) on the right."""
    import segno

    prefix, digits = qr_text.rsplit("/", 1)
    symbol = segno.make([prefix + "/", digits], error="M", boost_error=False)
    px_per_mm = 600 / 25.4
    card = Image.new("RGB", (round(CARD_MM[0] * px_per_mm), round(CARD_MM[1] * px_per_mm)), "white")
    buffer = io.BytesIO()
    symbol.save(buffer, kind="png", scale=10, border=4)
    qr = Image.open(buffer).convert("RGB")
    side = round((symbol.symbol_size(scale=1, border=4)[0]) * 6 * 25.4 / 300 * px_per_mm)
    qr = qr.resize((side, side), Image.NEAREST)
    card.paste(qr, (card.width - side - round(3 * px_per_mm), (card.height - side) // 2))
    return card


def frame_with(card: Image.Image, *, fill: float = 0.92) -> Image.Image:
    """The card held up to a 640 × 480 camera, filling ``fill`` of the frame width."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), (38, 42, 48))
    width = round(WIDTH * fill)
    height = round(card.height * width / card.width)
    frame.paste(card.resize((width, height), Image.LANCZOS), ((WIDTH - width) // 2, (HEIGHT - height) // 2))
    return frame


def write_y4m(image: Image.Image, path: Path, *, frames: int = 10) -> Path:
    """Write ``frames`` copies of ``image`` as a 640 × 480 C420jpeg Y4M (full-range BT.601, as JPEG)."""
    image = image.convert("RGB").resize((WIDTH, HEIGHT))
    y, cb, cr = image.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + cb.resize(half, Image.BILINEAR).tobytes() + cr.resize(half, Image.BILINEAR).tobytes()
    with path.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            fh.write(b"FRAME\n" + planes)
    return path
