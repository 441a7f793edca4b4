"""BIZ UDGothic for every printed page: registration, glyph coverage, measuring and wrapping text.

A character the font lacks would print as an empty box (tofu) or nothing at all, so coverage
is checked before anything is drawn: ``missing_glyphs`` finds such characters for the staff
report and the print checks, and ``draw`` refuses them as a last guard.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).resolve().parent / "fonts"
REGULAR = "BIZUDGothic"
BOLD = "BIZUDGothic-Bold"
_FILES = {REGULAR: "BIZUDGothic-Regular.ttf", BOLD: "BIZUDGothic-Bold.ttf"}

# Characters that change nothing visible (variation selectors, zero-width joiners, BOM):
# dropped before printing, so a name typed with an IVS prints with its base character.
_IGNORABLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SPACES = re.compile(r"[\t\r\n\u00a0\u2000-\u200a\u202f\u205f]+")
# Kinsoku shori (JIS X 4051): these may not start a line ...
NO_START = frozenset(
    "、。，．,.)）]］｝〕〉》」』】〙〗〟’”ゝゞーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ・：；！？!?:;"
)
# ... and these may not end one.
NO_END = frozenset("(（[［｛〔〈《「『【〘〖〝‘“")
# Runs of visible ASCII (phone numbers, doses, codes) stay together when a line is broken.
_UNITS = re.compile(r"[!-~]+|[ \u3000]+|.", re.DOTALL)


class MissingGlyph(ValueError):
    """Text reached the drawing code with a character the embedded font cannot show."""


class TextTooLong(ValueError):
    """A text could not be laid out in the space it must fit (nothing is clipped silently)."""


class _Font:
    def __init__(self, name: str):
        font = TTFont(name, str(FONT_DIR / _FILES[name]))
        pdfmetrics.registerFont(font)
        self.name, self.ttf = name, font
        self.widths = {chr(cp): w / 1000 for cp, w in font.face.charWidths.items() if cp in font.face.charToGlyph}
        self.codepoints = frozenset(font.face.charToGlyph)


@lru_cache
def _fonts() -> dict[str, _Font]:
    return {name: _Font(name) for name in _FILES}


@lru_cache
def covered() -> frozenset[str]:
    """Characters both embedded fonts can draw."""
    regular, bold = (_fonts()[name].codepoints for name in (REGULAR, BOLD))
    return frozenset(chr(cp) for cp in regular & bold if cp >= 0x20) | {" "}


def register() -> None:
    """Register the fonts with reportlab (idempotent)."""
    _fonts()


def clean(text: str | None) -> str:
    """Text as it is printed on one line: invisible characters dropped, any whitespace one space."""
    return _SPACES.sub(" ", _IGNORABLE.sub("", text or "")).strip()


def missing_glyphs(text: str | None) -> list[str]:
    """Characters of ``text`` the embedded fonts lack, each once, in order of appearance."""
    have = covered()
    seen: dict[str, None] = {}
    for char in clean(text):
        if char not in have:
            seen.setdefault(char)
    return list(seen)


def width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of ``text`` in points."""
    widths = _fonts()[BOLD if bold else REGULAR].widths
    return size * sum(widths.get(char, 1.0) for char in text)


def wrap(text: str, max_width: float, size: float, *, bold: bool = False) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width``, with Japanese line-breaking rules."""
    return list(_wrap(text or "", round(max_width / size, 4), bold))


@lru_cache(maxsize=8192)
def _wrap(text: str, limit: float, bold: bool) -> tuple[str, ...]:
    # Cached: letters, labels and instructions repeat on every kit of a batch.
    widths = _fonts()[BOLD if bold else REGULAR].widths
    lines: list[str] = []
    for paragraph in re.split(r"\r?\n", _IGNORABLE.sub("", text)):
        lines += _wrap_units(_UNITS.findall(_SPACES.sub(" ", paragraph).strip()), limit, widths)
    return tuple(lines) or ("",)


def _wrap_units(units: list[str], limit: float, widths: dict[str, float]) -> list[str]:
    def measure(piece: str) -> float:
        return sum(widths.get(char, 1.0) for char in piece)

    # A unit wider than a whole line (a long code, a URL) is cut into characters.
    pieces: list[tuple[str, float]] = []
    for unit in units:
        w = measure(unit)
        pieces.extend(((c, widths.get(c, 1.0)) for c in unit) if w > limit else ((unit, w),))
    lines: list[str] = []
    current: list[tuple[str, float]] = []
    used = 0.0
    for piece, w in pieces:
        if piece.isspace() and not current:
            continue
        if not current or used + w <= limit:
            current.append((piece, w))
            used += w
            continue
        # Kinsoku: a forbidden line start goes down with its predecessor, an opening bracket
        # goes down with what follows it; unless that would overflow the next line.
        split = len(current)
        if piece[0] in NO_START and split > 1:
            split -= 1
        while split > 1 and current[split - 1][0][-1] in NO_END:
            split -= 1
        if sum(x for _, x in current[split:]) + w > limit:
            split = len(current)
        lines.append("".join(p for p, _ in current[:split]).rstrip())
        current = [(p, x) for p, x in current[split:] if not p.isspace()] + [(piece, w)]
        used = sum(x for _, x in current)
    if current:
        lines.append("".join(p for p, _ in current).rstrip())
    return lines


def fit(
    text: str, max_width: float, *, size: float, min_size: float, bold: bool = False, max_lines: int | None = None
) -> tuple[float, list[str]]:
    """Shrink ``text`` down to ``min_size`` to keep it on one line, then wrap it at that size."""
    text = clean(text)
    current = size
    while current > min_size and width(text, current, bold=bold) > max_width:
        current = max(min_size, current - 0.5)
    lines = wrap(text, max_width, current, bold=bold)
    if max_lines is not None and len(lines) > max_lines:
        raise TextTooLong(f"{text!r} needs {len(lines)} lines at {current}pt, room for {max_lines}")
    return current, lines


def draw(
    canvas: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False, align: str = "left"
) -> float:
    """Draw one line of text (``align``: left, right or centre on ``x``); returns its width.

    The PDF operators are written directly, with the subsets reportlab assigns for the
    document (``splitString`` / ``getSubsetInternalName``, the documented interface of its
    dynamic fonts): going through ``drawString`` costs three times as much, for text
    objects that set the font, leading and matrix all over again. A canvas that offers a
    ``text_cache`` (``batch.StreamingCanvas``) keeps the encoded text of lines that repeat.
    """
    cache = getattr(canvas, "text_cache", None)
    key = (text, bold)
    encoded = cache.get(key) if cache is not None else None
    if encoded is None:
        if not covered().issuperset(text):
            raise MissingGlyph(f"no glyph for {missing_glyphs(text)!r} in {text!r}")
        font = _fonts()[BOLD if bold else REGULAR].ttf
        doc = canvas._doc  # reportlab's own text objects reach the document the same way
        encoded = (
            width(text, 1, bold=bold),
            [
                (font.getSubsetInternalName(subset, doc), escapePDF(chunk))
                for subset, chunk in font.splitString(text, doc)
            ],
        )
        if cache is not None:
            cache[key] = encoded
    w = encoded[0] * size
    if align == "right":
        x -= w
    elif align == "centre":
        x -= w / 2
    shown = " ".join(f"{name} {size:.6g} Tf ({chunk}) Tj" for name, chunk in encoded[1])
    canvas.addLiteral(f"BT 1 0 0 1 {x:.3f} {y:.3f} Tm {shown} ET")
    return w
