"""Render the printed material of the demo household of 見本 太郎 to PNG files for the README.

    .venv/bin/python scripts/print_samples.py [docs/images]

Uses a temporary data directory with the demo data (obviously fictional) and the public
URL a city would print (``https://lifeline.city.kazo.saitama.jp``), so the QR codes have
the production size.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.update(
    LIFELINE_DATA_DIR=tempfile.mkdtemp(prefix="lifeline-samples-"),
    LIFELINE_DATABASE_URL="",
    LIFELINE_ENVIRONMENT="development",
    LIFELINE_PUBLIC_URL="https://lifeline.city.kazo.saitama.jp",
)
sys.path.insert(0, str(ROOT))

import pypdfium2 as pdfium  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app import demo  # noqa: E402
from app.core import db  # noqa: E402
from app.households.models import Household  # noqa: E402
from app.printing import service as printing  # noqa: E402


def render(pdf: bytes, page: int, path: Path, dpi: int) -> None:
    doc = pdfium.PdfDocument(pdf)
    try:
        doc[page].render(scale=dpi / 72).to_pil().convert("RGB").save(path, optimize=True)
    finally:
        doc.close()
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    demo.load()
    engine = db.get_engine()
    with Session(engine) as session:
        household = session.exec(select(Household).where(Household.external_ref == "DEMO-H001")).one()
        members = printing.person_ids(session=session, household_id=household.id)
        everyone = printing.person_ids(session=session)
    audit = printing.cli_audit(engine=engine)

    def pdf(kind: str, ids: list[int], layout: str = "cr80") -> bytes:
        buffer = io.BytesIO()
        printing.run(
            kind=kind, engine=engine, actor=printing.CLI_ACTOR, audit=audit, out=buffer, ids=ids, layout=layout
        )
        return buffer.getvalue()

    kit = pdf("kits", [household.id])
    render(kit, 0, out / "print-letter.png", 110)
    render(kit, 1, out / "print-sheet.png", 150)
    render(kit, 3, out / "print-stickers.png", 80)
    cards = pdf("cards", members[:1])
    render(cards, 0, out / "print-card-front.png", 300)
    render(cards, 1, out / "print-card-back.png", 300)
    render(pdf("cards", everyone, layout="a4"), 0, out / "print-cards-10up.png", 110)


if __name__ == "__main__":
    main()
