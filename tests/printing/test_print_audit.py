"""A print batch records its persons in bulk (``audit.append_many``): the same chain as one append each."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from app.audit import service as audit
from app.audit.models import AuditCheckpoint, AuditEvent
from app.audit.signing import audit_keys
from app.audit.verify import verify_database
from app.core.config import get_settings
from app.core.errors import DomainError
from app.printing import batch
from app.printing import service as printing
from tests.factories import FACTORY_ACTOR


def _verify(connection):
    report = verify_database(connection, keys=audit_keys().public_keys())
    assert report.ok, [p.describe() for p in report.problems]
    return report


def test_bulk_append_chains_in_order_and_signs_every_checkpoint_it_crosses(connection, db, monkeypatch):
    monkeypatch.setattr(get_settings(), "audit_checkpoint_every", 3)
    single = audit.append(engine=connection, action="person.view", person_id=1)
    events = audit.append_many(
        engine=connection, events=[{"action": "print.kit", "person_id": n, "purpose": "print"} for n in range(2, 10)]
    )
    assert [e.seq for e in events] == list(range(single.seq + 1, single.seq + 9))
    assert events[0].prev_hash == single.hash and all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    stored = db.exec(select(AuditEvent).where(AuditEvent.seq > single.seq).order_by(AuditEvent.seq)).all()
    assert [(e.person_id, e.hash) for e in stored] == [(e.person_id, e.hash) for e in events]
    checkpoints = db.exec(
        select(AuditCheckpoint).where(AuditCheckpoint.seq > single.seq).order_by(AuditCheckpoint.seq)
    ).all()
    assert [cp.seq for cp in checkpoints] == [e.seq for e in events if e.seq % 3 == 0]
    assert all(b.prev_seq == a.seq for a, b in zip(checkpoints, checkpoints[1:]))
    _verify(connection)
    assert audit.append_many(engine=connection, events=[]) == []


def test_a_batch_records_every_printed_person_before_the_pdf_exists(connection, db, world):
    recorder = printing.background_audit(
        engine=connection, user_id=None, username="一括印刷", role="staff", organisation="", device="cli test"
    )
    summary = batch.print_kits(
        engine=connection, actor=FACTORY_ACTOR, household_ids=[world.household.id], out=io.BytesIO(), audit=recorder
    )
    assert summary.sheets == 2
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "print.kit").order_by(AuditEvent.seq)).all()
    assert [e.person_id for e in events] == [world.taro.id, world.ume.id]  # eldest first, as printed
    assert {(e.fields, e.purpose, e.outcome, e.device) for e in events} == {("kit", "print", "ok", "cli test")}
    _verify(connection)


def test_an_unwritable_audit_log_stops_the_batch(connection, world, monkeypatch, tmp_path):
    def broken(**_):
        raise audit.AuditUnavailable("disk full")

    monkeypatch.setattr(audit, "append_many", broken)
    recorder = printing.cli_audit(engine=connection)
    out = tmp_path / "kits.pdf"
    with pytest.raises(DomainError, match="アクセス記録を書き込めない"):
        batch.print_kits(
            engine=connection, actor=FACTORY_ACTOR, household_ids=[world.household.id], out=out, audit=recorder
        )
    assert list(tmp_path.iterdir()) == []  # neither the PDF nor a partial file
