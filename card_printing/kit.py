"""A household's 救急医療情報収納セット: the letter, one sheet per member, the sticker sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reportlab.pdfgen.canvas import Canvas

from card_printing import letter, sheet, stickers
from card_printing.data import HouseholdData, Issuer
from card_printing.qr import QrPlacement


@dataclass(frozen=True)
class KitResult:
    pages: int
    sheets: int
    qr: list[QrPlacement]


def draw_kit(canvas: Canvas, household: HouseholdData, *, access_code: str, today: date, issuer: Issuer) -> KitResult:
    """Letter, then a sheet for each member who gets one, then the stickers: all on ``canvas``."""
    pages = letter.draw_letter(canvas, household, access_code=access_code, today=today, issuer=issuer)
    placements = []
    for member in household.printable:
        result = sheet.draw_sheet(canvas, member, today=today, issuer=issuer)
        pages += result.pages
        if result.qr:
            placements.append(result.qr)
    stickers.draw_stickers(canvas, issuer=issuer)
    return KitResult(pages=pages + 1, sheets=len(household.printable), qr=placements)
