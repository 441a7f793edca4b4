"""Batches of kits, sheets and cards streamed into one PDF (``card_printing.pdf``), whatever their size.

A batch reads the database in chunks and writes to it once, at the end, in one short
transaction (access codes, "kit printed", "card printed"): a long write transaction would
block every other writer of an SQLite database, the audit log included. The PDF appears
at its final path only after that commit (``card_printing.output``); a failure leaves
neither a file nor a change. The layouts draw the snapshots ``app.printing.snapshots`` loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update
from sqlmodel import Session

import app.models  # noqa: F401  (every table: the ORM resolves foreign keys across domains)
from app.cards import service as cards
from app.cards.models import Card
from app.core.clock import today_jst, utcnow
from app.core.errors import Invalid
from app.core.models import Actor
from app.history import service as history
from app.households.models import Household
from app.printing import snapshots
from app.residents import service as residents
from card_printing import card, fonts, kit, sheet
from card_printing.data import Issuer, PersonData
from card_printing.output import output
from card_printing.pdf import StreamingCanvas

CHUNK = 100
ISSUE_COMMIT_EVERY = 20  # cards issued per transaction: holds other writers up for tens of ms at most
# (action, persons) -> None: records that these persons are printed, all or none; raises when it cannot.
Audit = Callable[[str, Sequence[PersonData]], None]
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class Summary:
    households: int = 0
    persons: int = 0
    sheets: int = 0
    cards: int = 0
    pages: int = 0
    skipped: list[str] = field(default_factory=list)


class _Run:
    """What every batch shares: its own session, chunked loading, refusals, cards issued on demand, auditing."""

    def __init__(
        self,
        *,
        engine,
        actor: Actor,
        audit: Audit,
        progress: Progress | None,
        today: date | None,
        issuer: Issuer | None,
    ):
        # Its own session: the batch ends read transactions and drops loaded rows as it goes,
        # which must not touch the caller's objects. (Given a connection already in a
        # transaction, as in the tests, it works in a savepoint of it.)
        self.session = Session(engine, join_transaction_mode="create_savepoint", expire_on_commit=False)
        self.actor, self.audit, self.progress = actor, audit, progress
        self.today = today or today_jst()
        self.issuer = issuer or snapshots.issuer_from_settings()
        self.summary = Summary()
        self.symbols: list[tuple[int, bytes]] = []  # QR symbols encoded for cards that had none stored

    def refusal(self, person: PersonData) -> str:
        if person.refusal:
            return f"{person.name}：{person.refusal}"
        problems = [p for p in person.problems if not p.substitute]
        if problems:
            return "。".join(p.message for p in problems) + "。印刷用の表記を設定するか、登録内容を直してください"
        return ""

    def with_cards(self, people: Sequence[PersonData]) -> None:
        """Issue a card to each person who has none."""
        pending = 0
        for person in people:
            if person.card is None:
                card = cards.ensure_issued(session=self.session, actor=self.actor, person_id=person.id, commit=False)
                person.card = snapshots.card_info(card)
                pending += 1
                if pending % ISSUE_COMMIT_EVERY == 0:
                    self.session.commit()
        # Committed before anything is audited: the audit writer's connection must not wait on this one.
        self.session.commit()

    def record(self, action: str, people: Sequence[PersonData]) -> None:
        """Audit the persons as printed before any of theirs is drawn (a failure stops the batch); note QR symbols."""
        if people:
            self.audit(action, people)
        self.symbols += [(p.card.row_id, p.card.symbol_to_store) for p in people if p.card and p.card.symbol_to_store]

    def chunks(self, ids: Sequence[int]) -> Iterator[Sequence[int]]:
        for start in range(0, len(ids), CHUNK):
            yield ids[start : start + CHUNK]
            # End the read transaction (nothing is pending: cards are committed when issued) and
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
        # Cards printed before their symbol was stored (migration 0012): the next print only unpacks it.
        cards.store_qr_symbols(session=self.session, symbols=self.symbols)
        self.session.commit()
        return self.summary

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()


def print_kits(
    *,
    engine,
    actor: Actor,
    household_ids: Sequence[int],
    out: Path | BinaryIO,
    audit: Audit,
    progress: Progress | None = None,
    today: date | None = None,
    issuer: Issuer | None = None,
) -> Summary:
    """Kits (letter + sheets + stickers) for the households; issues their access codes and marks them printed."""
    run = _Run(engine=engine, actor=actor, audit=audit, progress=progress, today=today, issuer=issuer)
    codes: list[tuple[int, str]] = []
    printed: list[tuple[int, datetime | None]] = []  # (household, when its kit was printed before): not the snapshots
    with run, output(out) as fh:
        canvas = StreamingCanvas(fh, title="救急医療情報キット", author=run.issuer.office)
        for chunk in run.chunks(household_ids):
            ready = []
            for household in snapshots.load_households(session=run.session, household_ids=chunk):
                reasons = [r for r in map(run.refusal, household.printable) if r]
                if not household.printable or reasons:
                    run.summary.skipped.append(
                        f"世帯 {household.id}（{household.home.address}）："
                        + (
                            "；".join(reasons)
                            if reasons
                            else "印刷できる世帯員がいません（同意のある在宅の方がいません）"
                        )
                    )
                    continue
                ready.append(household)
            members = [member for household in ready for member in household.printable]
            run.with_cards(members)
            run.record("print.kit", members)
            for household in ready:
                code = residents.new_code()
                codes.append((household.id, residents.hash_code(code)))
                result = kit.draw_kit(canvas, household, access_code=code, today=run.today, issuer=run.issuer)
                printed.append((household.id, household.kit_printed_at))
                run.summary.households += 1
                run.summary.sheets += result.sheets
                run.summary.persons += result.sheets
        return run.finish(canvas, lambda: _mark_kits(run.session, run.actor, codes, printed))


def _mark_kits(
    session: Session, actor: Actor, codes: list[tuple[int, str]], printed: list[tuple[int, datetime | None]]
) -> None:
    now = utcnow()
    residents.store_codes(session=session, codes=codes, now=now)
    for start in range(0, len(printed), 500):
        chunk = printed[start : start + 500]
        session.exec(
            update(Household)
            .where(Household.id.in_([household_id for household_id, _ in chunk]))
            .values(kit_printed_at=now)
        )
        for household_id, before in chunk:
            history.record(
                session=session,
                actor=actor,
                entity="household",
                entity_id=household_id,
                action="update",
                changes=[("kit_printed_at", before.isoformat() if before else None, now.isoformat())],
                household_id=household_id,
            )
        session.flush()
        session.expunge_all()


def print_sheets(
    *,
    engine,
    actor: Actor,
    person_ids: Sequence[int],
    out: Path | BinaryIO,
    audit: Audit,
    progress: Progress | None = None,
    today: date | None = None,
    issuer: Issuer | None = None,
) -> Summary:
    """Information sheets for the persons (cards are issued for those who have none)."""
    run = _Run(engine=engine, actor=actor, audit=audit, progress=progress, today=today, issuer=issuer)
    with run, output(out) as fh:
        canvas = StreamingCanvas(fh, title="救急医療情報シート", author=run.issuer.office)
        for chunk in run.chunks(person_ids):
            ready = []
            for person in snapshots.load_people(session=run.session, person_ids=chunk):
                if reason := run.refusal(person):
                    run.summary.skipped.append(reason)
                else:
                    ready.append(person)
            run.with_cards(ready)
            run.record("print.sheet", ready)
            for person in ready:
                sheet.draw_sheet(canvas, person, today=run.today, issuer=run.issuer)
                run.summary.persons += 1
                run.summary.sheets += 1
        return run.finish(canvas, lambda: None)


def print_cards(
    *,
    engine,
    actor: Actor,
    person_ids: Sequence[int],
    out: Path | BinaryIO,
    audit: Audit,
    layout: str = "cr80",
    progress: Progress | None = None,
    today: date | None = None,
    issuer: Issuer | None = None,
) -> Summary:
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

    with run, output(out) as fh:
        canvas = StreamingCanvas(fh, title="かかりつけ医カード", author=run.issuer.office)
        for chunk in run.chunks(person_ids):
            people = snapshots.load_people(session=run.session, person_ids=chunk)
            run.with_cards([person for person in people if not run.refusal(person)])
            ready = []
            for person in people:
                reason = run.refusal(person)
                if not reason:
                    try:
                        ready.append(card.prepare(person, today=run.today, issuer=run.issuer))
                    except fonts.TextTooLong as exc:
                        reason = f"{person.name}：{exc}"
                if reason:
                    run.summary.skipped.append(reason)
            run.record("print.card", [prepared.person for prepared in ready])
            for prepared in ready:
                person = prepared.person
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
    now = utcnow()
    for start in range(0, len(card_row_ids), 500):
        session.exec(update(Card).where(Card.id.in_(card_row_ids[start : start + 500])).values(printed_at=now))
