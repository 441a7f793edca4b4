"""Who viewed a household's records, for the household itself: organisation, time, reason, in plain Japanese.

The page is itself audited (``audit.view``), before anything is shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel import select

from app.audit import service as audit
from app.auth.access_log import record_access
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.core.deps import EngineDep, SessionDep
from app.core.templating import render
from app.persons.models import Person
from app.reviews import present
from app.reviews.paging import PAGE_SIZE, page_number

Resident = Annotated[User, Depends(require_roles(Role.resident))]

router = APIRouter(prefix="/me", include_in_schema=False, dependencies=[Depends(require_roles(Role.resident))])


@router.get("/access")
def resident_access(request: Request, session: SessionDep, engine: EngineDep, user: Resident):
    """Who viewed the household's records: organisation, time, reason, in plain Japanese."""
    members = (
        {p.id: p for p in session.exec(select(Person).where(Person.household_id == user.household_id))}
        if user.household_id
        else {}
    )
    page = page_number(request.query_params.get("page"))
    f = audit.AuditFilter(
        person_ids=list(members),
        household_id=user.household_id,
        exclude_actions=present.OWN_LOG_ACTIONS,
        exclude_actor=user.id,
    )
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.view",
        household_id=user.household_id,
        fields="resident:household",
        purpose="self",
    )
    events, total = (
        audit.search(session=session, filter=f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        if user.household_id
        else ([], 0)
    )
    return render(
        request,
        "resident/access.html",
        section="access",
        events=events,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        members=members,
        present=present,
    )
