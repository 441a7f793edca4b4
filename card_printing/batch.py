"""Batches of kits, sheets and cards streamed into one PDF (``card_printing.pdf``), whatever their size.

A batch reads the database in chunks and writes to it once, at the end, in one short
transaction (access codes, "kit printed", "card printed"): a long write transaction would
block every other writer of an SQLite database, the audit log included. The PDF appears
at its final path only after that commit; a failure leaves neither a file nor a change.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

import app.models  # noqa: F401  (every table: the ORM resolves foreign keys across domains)
from app.core.errors import Invalid
from app.core.models import Actor
from card_printing import card, fonts, kit, sheet
from card_printing import data as snapshots
from card_printing.data import Issuer, PersonData
from card_printing.pdf import StreamingCanvas

CHUNK = 100
Audit = Callable[[str, PersonData], None]  # (action, person) -> None; raises when it cannot record
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class Summary:
    households: int = 0
    persons: int = 0
    sheets: int = 0
    cards: int = 0
    pages: int = 0
    skipped: list[str] = field(default_factory=list)


@contextmanager
def _output(out: Path | BinaryIO) -> Iterator[BinaryIO]:
    """The file to write: a path appears only once everything succeeded."""
    if not isinstance(out, (str, Path)):
        yield out
        return
    final = Path(out)
    part = final.with_name(final.name + ".part")
    try:
        # Medical data: readable by the service's user only.
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)


class _Run:
    """What every batch shares: its own session, chunked loading, refusals, cards issued on demand, auditing."""

    def __init__(self, *, engine, actor: Actor, audit: Audit, progress: Progress | None, today: date | None, issuer: Issuer | None):
        from app.core.clock import today_jst

        # Its own session: the batch ends read transactions and drops loaded rows as it goes,
        # which must not touch the caller's objects. (Given a connection already in a
        # transaction, as in the tests, it works in a savepoint of it.)
        self.session = Session(engine, join_transaction_mode="create_savepoint", expire_on_commit=False)
        self.actor, self.audit, self.progress = actor, audit, progress
        self.today = today or today_jst()
        self.issuer = issuer or Issuer.from_settings()
        self.summary = Summary()

    def refusal(self, person: PersonData) -> str:
        if person.refusal:
            return f"{person.name}：{person.refusal}"
        problems = [p for p in person.problems if not p.substitute]
        if problems:
            return "。".join(p.message for p in problems) + "。印刷用の表記を設定するか、登録内容を直してください"
        return ""

    def with_card(self, person: PersonData) -> None:
        if person.card is None:
            from app.cards import service as cards

            person.card = snapshots.card_info(cards.ensure_issued(session=self.session, actor=self.actor, person_id=person.id))

    def chunks(self, ids: Sequence[int]) -> Iterator[Sequence[int]]:
        for start in range(0, len(ids), CHUNK):
            yield ids[start:start + CHUNK]
            # End the read transaction (nothing is pending: cards commit as they are issued) and
            # drop the loaded rows, so memory stays flat.
            self.session.commit()
            self.session.expunge_all()
            if self.progress:
                self.progress(min(start + CHUNK, len(ids)), len(ids))

    def finish(self, canvas: StreamingCanvas, write: Callable[[], None]) -> Summary:
        if canvas.pages == 0:
            raise Invalid("印刷できるものがありません：%(reasons)s", reasons=" / ".join(self.summary.skipped[:5]))
        canvas.close()
        self.summary.pages = canvas.pages
        write()
        self.session.commit()
        return self.summary

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()


def print_kits(*, engine, actor: Actor, household_ids: Sequence[int], out: Path | BinaryIO, audit: Audit,
               progress: Progress | None = None, today: date | None = None, issuer: Issuer | None = None) -> Summary:
    """Kits (letter + sheets + stickers) for the households; issues their access codes and marks them printed."""
    from app.residents import service as residents

    run = _Run(engine=engine, actor=actor, audit=audit, progress=progress, today=today, issuer=issuer)
    codes: list[tuple[int, str]] = []
    printed: list[tuple[int, datetime | None]] = []  # (household, when its kit was printed before): not the snapshots
    with run, _output(out) as fh:
        canvas = StreamingCanvas(fh, title="救急医療情報キット", author=run.issuer.office)
        for chunk in run.chunks(household_ids):
            for household in snapshots.load_households(session=run.session, household_ids=chunk):
                reasons = [r for r in map(run.refusal, household.printable) if r]
                if not household.printable or reasons:
                    run.summary.skipped.append(f"世帯 {household.id}（{household.home.address}）："
                                               + ("；".join(reasons) if reasons else "印刷できる世帯員がいません（同意のある在宅の方がいません）"))
                    continue
                for member in household.printable:
                    run.with_card(member)
                    run.audit("print.kit", member)
                code = residents.new_code()
                codes.append((household.id, residents.hash_code(code)))
                result = kit.draw_kit(canvas, household, access_code=code, today=run.today, issuer=run.issuer)
                printed.append((household.id, household.kit_printed_at))
                run.summary.households += 1
                run.summary.sheets += result.sheets
                run.summary.persons += result.sheets
        return run.finish(canvas, lambda: _mark_kits(run.session, run.actor, codes, printed))


def _mark_kits(session: Session, actor: Actor, codes: list[tuple[int, str]], printed: list[tuple[int, datetime | None]]) -> None:
    from sqlalchemy import update

    from app.core.clock import utcnow
    from app.history import service as history
    from app.households.models import Household
    from app.residents import service as residents

    now = utcnow()
    residents.store_codes(session=session, codes=codes, now=now)
    for start in range(0, len(printed), 500):
        chunk = printed[start:start + 500]
        session.exec(update(Household).where(Household.id.in_([household_id for household_id, _ in chunk])).values(kit_printed_at=now))
        for household_id, before in chunk:
            history.record(session=session, actor=actor, entity="household", entity_id=household_id, action="update",
                           changes=[("kit_printed_at", before.isoformat() if before else None, now.isoformat())], household_id=household_id)
        session.flush()
        session.expunge_all()


def print_sheets(*, engine, actor: Actor, person_ids: Sequence[int], out: Path | BinaryIO, audit: Audit,
                 progress: Progress | None = None, today: date | None = None, issuer: Issuer | None = None) -> Summary:
    """Information sheets for the persons (cards are issued for those who have none)."""
    run = _Run(engine=engine, actor=actor, audit=audit, progress=progress, today=today, issuer=issuer)
    with run, _output(out) as fh:
        canvas = StreamingCanvas(fh, title="救急医療情報シート", author=run.issuer.office)
        for chunk in run.chunks(person_ids):
            for person in snapshots.load_people(session=run.session, person_ids=chunk):
                if reason := run.refusal(person):
                    run.summary.skipped.append(reason)
                    continue
                run.with_card(person)
                run.audit("print.sheet", person)
                sheet.draw_sheet(canvas, person, today=run.today, issuer=run.issuer)
                run.summary.persons += 1
                run.summary.sheets += 1
        return run.finish(canvas, lambda: None)


def print_cards(*, engine, actor: Actor, person_ids: Sequence[int], out: Path | BinaryIO, audit: Audit, layout: str = "cr80",
                progress: Progress | None = None, today: date | None = None, issuer: Issuer | None = None) -> Summary:
    """かかりつけ医カード for the persons: ``cr80`` (card printer) or ``a4`` (10-up business-card stock)."""
    if layout not in ("cr80", "a4"):
        raise Invalid("カードの印刷形式は cr80 か a4 です")
    run = _Run(engine=engine, actor=actor, audit=audit, progress=progress, today=today, issuer=issuer)
    printed: list[int] = []
    pending: list[card.CardLayout] = []

    def flush(canvas: StreamingCanvas) -> None:
        if pending:
            card.draw_ten_up(canvas, pending, issuer=run.issuer)
            pending.clear()

    with run, _output(out) as fh:
        canvas = StreamingCanvas(fh, title="かかりつけ医カード", author=run.issuer.office)
        for chunk in run.chunks(person_ids):
            for person in snapshots.load_people(session=run.session, person_ids=chunk):
                reason = run.refusal(person)
                if not reason:
                    run.with_card(person)
                    try:
                        prepared = card.prepare(person, today=run.today, issuer=run.issuer)
                    except fonts.TextTooLong as exc:
                        reason = f"{person.name}：{exc}"
                if reason:
                    run.summary.skipped.append(reason)
                    continue
                run.audit("print.card", person)
                if layout == "cr80":
                    card.draw_cr80(canvas, [prepared], issuer=run.issuer)
                else:
                    pending.append(prepared)
                    if len(pending) == 10:
                        flush(canvas)
                printed.append(person.card.row_id)
                run.summary.persons += 1
                run.summary.cards += 1
        flush(canvas)
        return run.finish(canvas, lambda: _mark_cards(run.session, printed))


def _mark_cards(session: Session, card_row_ids: list[int]) -> None:
    from sqlalchemy import update

    from app.cards.models import Card
    from app.core.clock import utcnow

    now = utcnow()
    for start in range(0, len(card_row_ids), 500):
        session.exec(update(Card).where(Card.id.in_(card_row_ids[start:start + 500])).values(printed_at=now))
