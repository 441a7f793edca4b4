"""The card's QR code, encoded from its exact segments and drawn as a few merged rectangles.

Three costs dominate a naive QR in a PDF batch: segno's encoding (≈ 2 ms), its data-mask
choice (it evaluates the eight masks in pure Python, ≈ 8 ms) and one rectangle per dark
module (≈ 25 ms to draw in reportlab). Here the symbol is encoded with mask 0
(``qr_encode``, ≈ 0.6 ms); the other seven masks differ from it by a fixed pattern per
version (mask and format bits, independent of the data), so they are XOR-ed in as big
integers and scored with bitwise arithmetic (ISO/IEC 18004 §7.8.3 penalties N1–N4, on the
finished symbol as ZXing does). Dark modules are drawn as horizontal runs, merged downwards
when the row below has the same run: a few hundred ``re`` operators in one path.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import methodcaller

import segno
from reportlab.pdfgen.canvas import Canvas

from app.cards.qr import QrSegment
from card_printing import qr_encode

ERROR_LEVEL = "M"
QUIET_ZONE = 4  # modules of light margin on each side (ISO/IEC 18004 minimum)
# 5 dots at 300 dpi = 0.4233 mm, the card's minimum module; multiples stay on the printer grid.
DOT_300 = 72 / 300
MIN_MODULE = 5 * DOT_300
_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")
_RUNS = re.compile("1+")
_SPAN = methodcaller("span")


@dataclass(frozen=True)
class QrSymbol:
    version: int
    size: int  # modules per side, without the quiet zone
    rows: tuple[str, ...]  # "0"/"1" per module, top row first

    @property
    def total(self) -> int:
        """Modules per side including the quiet zone."""
        return self.size + 2 * QUIET_ZONE


@dataclass(frozen=True)
class QrPlacement:
    x: float  # lower-left corner of the quiet zone, points
    y: float
    module: float  # points
    side: float  # points, quiet zone included
    version: int

    @property
    def module_mm(self) -> float:
        return self.module * 25.4 / 72


def _check(segments: Sequence[QrSegment]) -> None:
    # Refuse text the declared mode cannot encode (a lower-case host, a stray letter in the digits).
    for segment in segments:
        expected = segment.text.isdigit() if segment.mode == "numeric" else bool(_ALPHANUMERIC.fullmatch(segment.text))
        if not expected:
            raise ValueError(f"segment {segment.text[:20]!r}… cannot be encoded in {segment.mode} mode")


class _Layout:
    """Bit positions of an n×n matrix in one integer: rows of n bits, 4 light bits around each."""

    def __init__(self, n: int):
        self.n, self.stride = n, n + 4
        self.bits = 4 + n * self.stride
        self.all = (1 << self.bits) - 1
        row = (1 << n) - 1
        self.modules = sum(row << (4 + i * self.stride) for i in range(n))
        inner = (1 << (n - 1)) - 1
        self.blocks = sum(inner << (4 + i * self.stride) for i in range(n - 1))

    def pack(self, lines: Sequence[str]) -> int:
        """Rows of "0"/"1" (column 0 first) as one integer."""
        return int(("0000" + "".join(line + "0000" for line in lines))[: self.bits][::-1], 2)

    def unpack(self, value: int) -> tuple[str, ...]:
        bits = format(value, f"0{self.bits}b")[::-1]
        return tuple(bits[4 + i * self.stride: 4 + i * self.stride + self.n] for i in range(self.n))


def _runs_penalty(x: int) -> int:
    # N1: a run of 5 + i equal modules costs 3 + i; s marks every start of 5 in a row.
    s = x & (x >> 1) & (x >> 2) & (x >> 3) & (x >> 4)
    return s.bit_count() + 2 * (s & ~(s >> 1)).bit_count()


def _finder_penalty(dark: int, light: int) -> int:
    # N3: 1:1:3:1:1 dark/light pattern with 4 light modules (or the quiet zone) on one side.
    f = dark & (light >> 1) & (dark >> 2) & (dark >> 3) & (dark >> 4) & (light >> 5) & (dark >> 6)
    before = (light << 1) & (light << 2) & (light << 3) & (light << 4)
    after = (light >> 7) & (light >> 8) & (light >> 9) & (light >> 10)
    return 40 * (f & (before | after)).bit_count()


def _penalty(layout: _Layout, rows: int, cols: int) -> int:
    score = 0
    for dark in (rows, cols):
        light_in_symbol = dark ^ layout.modules
        score += _runs_penalty(dark) + _runs_penalty(light_in_symbol)
        score += _finder_penalty(dark, layout.all ^ dark)
    stride = layout.stride
    same_h = layout.all ^ (rows ^ (rows >> 1))
    same_v = layout.all ^ (rows ^ (rows >> stride))
    score += 3 * (same_h & (same_h >> stride) & same_v & layout.blocks).bit_count()
    n = layout.n
    score += 10 * int(abs(rows.bit_count() * 100 / (n * n) - 50) / 5)
    return score


def _lines(code: segno.QRCode) -> tuple[str, ...]:
    return tuple(bytes(row).translate(_DIGITS).decode() for row in code.matrix)


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _transpose(lines: Sequence[str]) -> tuple[str, ...]:
    return tuple("".join(column) for column in zip(*lines))


@lru_cache
def _mask_deltas(version: int) -> tuple[tuple[int, int], ...]:
    """Per mask: what to XOR onto a mask-0 symbol of this version (rows, columns packed)."""
    layout = _Layout(segno.make("0", version=version, error=ERROR_LEVEL, mask=0, boost_error=False).symbol_size(border=0)[0])
    reference = [_lines(segno.make("0", version=version, error=ERROR_LEVEL, mask=k, boost_error=False)) for k in range(8)]
    return tuple((layout.pack(ref) ^ layout.pack(reference[0]),
                  layout.pack(_transpose(ref)) ^ layout.pack(_transpose(reference[0]))) for ref in reference)


def encode(segments: Sequence[QrSegment]) -> QrSymbol:
    """The QR symbol (ECC M, smallest version) of exactly these segments, best data mask."""
    _check(segments)
    version, lines = qr_encode.mask0_rows(segments)
    layout = _Layout(len(lines))
    rows, cols = layout.pack(lines), layout.pack(_transpose(lines))
    deltas = _mask_deltas(version)
    best = min((_penalty(layout, rows ^ dr, cols ^ dc), k) for k, (dr, dc) in enumerate(deltas))[1]
    return QrSymbol(version=version, size=len(lines), rows=layout.unpack(rows ^ deltas[best][0]))


def rectangles(symbol: QrSymbol) -> list[tuple[int, int, int, int]]:
    """Dark areas as (column, row, width, height) in modules: row runs merged downwards."""
    done: list[tuple[int, int, int, int]] = []
    first_row: dict[tuple[int, int], int] = {}  # (start, end) of a run still open -> its first row
    previous: set[tuple[int, int]] = set()
    for i, line in enumerate(symbol.rows):
        runs = set(map(_SPAN, _RUNS.finditer(line)))
        for start, end in previous - runs:
            top = first_row.pop((start, end))
            done.append((start, top, end - start, i - top))
        for run in runs - previous:
            first_row[run] = i
        previous = runs
    done.extend((start, top, end - start, symbol.size - top) for (start, end), top in first_row.items())
    return done


def draw(canvas: Canvas, symbol: QrSymbol, *, x: float, y: float, module: float) -> QrPlacement:
    """Draw ``symbol`` with its quiet zone; (x, y) is the lower-left corner of the quiet zone."""
    if module < MIN_MODULE - 1e-9:
        raise ValueError(f"QR module {module:.3f} pt is below the {MIN_MODULE:.3f} pt minimum")
    side = symbol.total * module
    top = y + side - QUIET_ZONE * module
    left = x + QUIET_ZONE * module
    # One path in module units: a y-flipped matrix maps row i to i modules below the top.
    ops = " ".join(f"{c} {r} {w} {h} re" for c, r, w, h in rectangles(symbol))
    canvas.addLiteral(f"q 0 g {module:.4f} 0 0 {-module:.4f} {left:.3f} {top:.3f} cm {ops} f Q")
    return QrPlacement(x=x, y=y, module=module, side=side, version=symbol.version)
