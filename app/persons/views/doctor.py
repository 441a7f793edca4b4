"""A family doctor sees what residents changed in their patients' data and confirms it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import or_
from sqlmodel import select

from app.auth import service as auth
from app.auth.access_log import record_access
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import Forbidden
from app.core.models import Source
from app.core.templating import render
from app.persons import access, dataset
from app.persons.models import ClinicalEntry, ClinicalStatus, Person

Doctor = Annotated[User, Depends(require_roles(Role.doctor))]
router = APIRouter(prefix="/doctor", include_in_schema=False, dependencies=[Depends(require_roles(Role.doctor))])


@router.get("/changes")
def changes(request: Request, session: SessionDep, engine: EngineDep, user: Doctor):
    """Entries of the doctor's patients reported by the resident or family and not yet confirmed by a doctor."""
    if user.practitioner_id is None:
        rows = []
    else:
        rows = session.exec(
            select(ClinicalEntry, Person)
            .join(Person, Person.id == ClinicalEntry.person_id)
            .where(
                or_(Person.family_doctor_id == user.practitioner_id, Person.second_doctor_id == user.practitioner_id),
                ClinicalEntry.source == Source.resident,
                ClinicalEntry.status == ClinicalStatus.active,
            )
            .order_by(ClinicalEntry.updated_at.desc())
            .limit(200)
        ).all()
    shown: dict[int, Person] = {}
    for _entry, person in rows:
        shown.setdefault(person.id, person)
    for person in shown.values():  # one record per patient whose entries are shown
        record_access(
            engine=engine,
            request=request,
            user=user,
            action="person.view",
            person=person,
            fields="resident changes",
            purpose="confirm",
        )
    return render(request, "doctor/changes.html", section="changes", rows=rows)


@router.post("/entries/{entry_id}/confirm")
def confirm(entry_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: Doctor):
    """Mark the entry 「医師が確認」: source doctor, confirmed today, the change kept in history."""
    entry = session.get(ClinicalEntry, entry_id)
    person = session.get(Person, entry.person_id) if entry else None
    if person is None or not access.can_edit(user, person):
        raise Forbidden("この方の主治医ではないため、確認できません")
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="person.confirm_entry",
        person=person,
        fields=f"entry={entry_id}",
        purpose="confirm",
        outcome="requested",
    )
    dataset.confirm_entry(session=session, actor=auth.actor_of(user), entry_id=entry_id)
    return RedirectResponse("/doctor/changes?confirmed=1", status_code=303)
