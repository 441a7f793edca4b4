"""The card's QR code: encoded by segno, drawn as a few hundred merged rectangles.

segno builds the symbol from our exact segments (alphanumeric prefix, numeric payload; ECC M,
smallest version). Two costs of a naive QR in a PDF batch are avoided. segno's own choice of
the data mask scores all eight masks in pure Python (≈ 7 ms a symbol, more than the rest of
an information sheet); instead segno encodes with mask 0 (≈ 1.8 ms) and the other seven
candidates are that symbol XOR what separates segno's mask-k symbol from its mask-0 symbol of
the same version (the mask pattern and the format bits, independent of the data). They are
scored with the ISO/IEC 18004 §7.8.3 penalties N1–N4 in bitwise arithmetic (on the finished
symbol, as ZXing does), and the winner is, module for module, what segno makes with that mask
(``tests/printing`` checks it). And the dark modules are drawn as horizontal runs, one ``re``
operator each in a single path, instead of one rectangle per module (≈ 25 ms in reportlab).

A card's QR text never changes after issuance, so its symbol is encoded once, when the card is
issued, and stored with it (``to_bytes``/``from_bytes``, format in docs/card-format.md §2); a
print only unpacks it. Nothing here touches the database: callers hand over the bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import segno
from reportlab.pdfgen.canvas import Canvas
from segno import consts

ERROR_LEVEL = "M"
QUIET_ZONE = 4  # modules of light margin on each side (ISO/IEC 18004 minimum)
# Modules are whole dots at 300 dpi (so at 600 too): every module prints the same width.
DOT_300 = 72 / 300
# DESIGN.md §4: modules ≥ 0.5 mm on the card, ≥ 0.6 mm on the sheet (in points). The card's
# earlier 0.42 mm (5 dots) read far less often under camera blur: nothing is drawn below 0.5 mm.
MIN_MODULE = 0.5 * 72 / 25.4
SHEET_MIN_MODULE = 0.6 * 72 / 25.4
_MODES = {"alphanumeric": consts.MODE_ALPHANUMERIC, "numeric": consts.MODE_NUMERIC}
_RUNS = re.compile("1+")
SYMBOL_FORMAT = 1  # first byte of a stored symbol; a new layout gets a new number
_TEXT_DIGEST = 8  # bytes of SHA-256 over the QR text kept in a stored symbol


@dataclass(frozen=True)
class QrSegment:
    """One segment of a QR symbol, in the mode chosen for it (the card's URL prefix and its digits)."""

    text: str
    mode: Literal["alphanumeric", "numeric"]


@dataclass(frozen=True)
class QrSymbol:
    version: int
    mask: int  # data mask pattern, 0–7
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


def _segno(segments: Sequence[QrSegment], mask: int = 0) -> segno.QRCode:
    # Explicit modes: segno refuses text its mode cannot encode (a lower-case host, a letter among
    # the digits) rather than silently choosing a bigger mode and a bigger symbol.
    return segno.make(
        [(s.text, _MODES[s.mode]) for s in segments], error=ERROR_LEVEL, mask=mask, micro=False, boost_error=False
    )


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
        return tuple(bits[4 + i * self.stride : 4 + i * self.stride + self.n] for i in range(self.n))


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


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _lines(code: segno.QRCode) -> tuple[str, ...]:
    return tuple(bytes(row).translate(_DIGITS).decode() for row in code.matrix)


def _transpose(lines: Sequence[str]) -> tuple[str, ...]:
    return tuple("".join(column) for column in zip(*lines))


@lru_cache
def _mask_deltas(version: int) -> tuple[tuple[int, int], ...]:
    """Per mask: what turns segno's mask-0 symbol of this version into its mask-k symbol (rows, columns packed)."""
    reference = [
        _lines(segno.make("0", version=version, error=ERROR_LEVEL, mask=k, boost_error=False)) for k in range(8)
    ]
    layout = _Layout(len(reference[0]))
    return tuple(
        (
            layout.pack(ref) ^ layout.pack(reference[0]),
            layout.pack(_transpose(ref)) ^ layout.pack(_transpose(reference[0])),
        )
        for ref in reference
    )


def encode(segments: Sequence[QrSegment]) -> QrSymbol:
    """The QR symbol (ECC M, smallest version) of exactly these segments, with the data mask of least penalty."""
    code = _segno(segments)
    lines = _lines(code)
    layout = _Layout(len(lines))
    rows, cols = layout.pack(lines), layout.pack(_transpose(lines))
    deltas = _mask_deltas(code.version)
    best = min((_penalty(layout, rows ^ dr, cols ^ dc), k) for k, (dr, dc) in enumerate(deltas))[1]
    return QrSymbol(version=code.version, mask=best, size=len(lines), rows=layout.unpack(rows ^ deltas[best][0]))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("ascii")).digest()[:_TEXT_DIGEST]


def to_bytes(symbol: QrSymbol, *, text: str) -> bytes:
    """``symbol`` (which encodes ``text``) as stored with its card: format, version, mask, text digest, modules."""
    bits = "".join(symbol.rows)
    bits += "0" * (-len(bits) % 8)  # light padding up to a whole byte
    modules = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return bytes((SYMBOL_FORMAT, symbol.version, symbol.mask)) + _digest(text) + modules


def from_bytes(data: bytes, *, text: str) -> QrSymbol:
    """The symbol ``to_bytes`` stored for ``text``; ValueError for another format, another text or damaged bytes."""
    head = 3 + _TEXT_DIGEST
    if len(data) < head or data[0] != SYMBOL_FORMAT or not 1 <= data[1] <= 40 or data[2] > 7:
        raise ValueError("not a stored QR symbol of a known format")
    if data[3:head] != _digest(text):
        # Printing a QR that does not carry the card's own text is the one thing a print must never do.
        raise ValueError("the stored QR symbol encodes another text")
    size = 17 + 4 * data[1]
    body = data[head:]
    if len(body) != (size * size + 7) // 8:
        raise ValueError("the stored QR symbol has the wrong length")
    bits = format(int.from_bytes(body, "big"), f"0{8 * len(body)}b")
    if "1" in bits[size * size :]:
        raise ValueError("the stored QR symbol's padding is not light")
    return QrSymbol(
        version=data[1], mask=data[2], size=size, rows=tuple(bits[i * size : (i + 1) * size] for i in range(size))
    )


def rectangles(symbol: QrSymbol) -> list[tuple[int, int, int]]:
    """Dark areas as (column, row, width) in modules: each a maximal horizontal run of one row.

    Merging runs downwards as well saves only ~13 % of the rectangles of a card's symbol (its
    data modules rarely repeat a run in the next row) and doubles the time to compute them.
    """
    return [(m.start(), i, m.end() - m.start()) for i, line in enumerate(symbol.rows) for m in _RUNS.finditer(line)]


def draw(canvas: Canvas, symbol: QrSymbol, *, x: float, y: float, module: float) -> QrPlacement:
    """Draw ``symbol`` with its quiet zone; (x, y) is the lower-left corner of the quiet zone.

    ValueError for a module below ``MIN_MODULE`` or not a whole number of 300 dpi dots."""
    if module < MIN_MODULE - 1e-9:
        raise ValueError(f"QR module {module:.3f} pt is below the {MIN_MODULE:.3f} pt minimum")
    if abs(module / DOT_300 - round(module / DOT_300)) > 1e-6:
        raise ValueError(f"QR module {module:.3f} pt is not a whole number of 300 dpi dots")
    side = symbol.total * module
    top = y + side - QUIET_ZONE * module
    left = x + QUIET_ZONE * module
    # One path in module units: a y-flipped matrix maps row i to i modules below the top.
    ops = " ".join(f"{c} {r} {w} 1 re" for c, r, w in rectangles(symbol))
    canvas.addLiteral(f"q 0 g {module:.4f} 0 0 {-module:.4f} {left:.3f} {top:.3f} cm {ops} f Q")
    return QrPlacement(x=x, y=y, module=module, side=side, version=symbol.version)
