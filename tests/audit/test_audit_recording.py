"""Reads of medical data are audited; when the audit cannot be written, nothing is shown."""

import hashlib

import pytest
from sqlmodel import select

from app.audit import service as audit
from app.audit.models import AuditEvent

MEDICAL_READS = [
    "/staff/persons/{id}",
    "/staff/persons/{id}/edit",
    "/staff/persons/{id}/history",
    "/api/v1/persons/{id}",
    "/api/v1/persons/{id}/history",
]


@pytest.mark.parametrize("path", MEDICAL_READS)
def test_each_medical_read_writes_exactly_one_record(path, login, personas, db):
    c = login(personas.staff)
    before = db.exec(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first() or 0
    r = c.get(path.format(id=personas.patient.id))
    assert r.status_code == 200
    new = db.exec(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert len(new) == 1
    event = new[0]
    assert event.actor_user_id == personas.staff.id and event.actor_role == "staff"
    assert event.person_id == personas.patient.id and event.household_id == personas.household.id
    assert event.outcome == "ok"


def test_refused_reads_are_audited_too(login, personas, db):
    r = login(personas.other_doctor).get(f"/api/v1/persons/{personas.patient.id}")
    assert r.status_code == 403
    event = db.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.outcome == "refused" and event.actor_user_id == personas.other_doctor.id


def test_chain_links_every_record(login, personas, db):
    c = login(personas.staff)
    for _ in range(3):
        c.get(f"/staff/persons/{personas.patient.id}")
    events = db.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    previous = audit.GENESIS
    for event in events:
        assert event.prev_hash == previous
        assert event.hash == hashlib.sha256(audit.canonical(event)).hexdigest()
        previous = event.hash


@pytest.mark.parametrize("path", MEDICAL_READS)
def test_no_audit_no_data(path, login, personas, make, refuse_audit_inserts):
    make.entry(personas.patient, text="ワルファリン錠1mg")
    c = login(personas.staff)
    refuse_audit_inserts()
    r = c.get(path.format(id=personas.patient.id))
    assert r.status_code == 503
    assert "アクセス記録を書き込めないため" in r.text
    assert "ワルファリン" not in r.text and personas.patient.given_name not in r.text
