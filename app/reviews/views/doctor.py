"""Who looked at a doctor's patients, newest first; the doctor marks each access as reviewed.

The page is itself audited (``audit.view``), before anything is shown.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import or_
from sqlmodel import select

from app.audit import service as audit
from app.auth.access_log import record_access
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.errors import Forbidden
from app.core.templating import is_htmx, render
from app.persons.models import Person
from app.reviews import present
from app.reviews.paging import PAGE_SIZE, page_number, parse_day, query_without_page

Doctor = Annotated[User, Depends(require_roles(Role.doctor))]

router = APIRouter(prefix="/doctor", include_in_schema=False, dependencies=[Depends(require_roles(Role.doctor))])

# The action filter offered to doctors: value → label (message id).
DOCTOR_ACTIONS = (
    ("", "すべての操作"),
    ("scan.", "救急隊による閲覧"),
    ("person.view", "登録情報の閲覧"),
    ("person.history", "変更履歴の閲覧"),
    ("card.", "カードの発行・失効"),
)


def patients_of(session, user: User) -> dict[int, Person]:
    """The doctor's patients: persons naming them as family doctor or second doctor."""
    if user.practitioner_id is None:
        return {}
    rows = session.exec(
        select(Person).where(
            or_(Person.family_doctor_id == user.practitioner_id, Person.second_doctor_id == user.practitioner_id)
        )
    )
    return {p.id: p for p in rows}


@router.get("/")
def doctor_home():
    return RedirectResponse("/doctor/access", status_code=303)


def _doctor_filter(user: User, patients: dict[int, Person], q) -> audit.AuditFilter:
    return audit.AuditFilter(
        person_ids=list(patients),
        date_from=parse_day(q.get("date_from")),
        date_to=parse_day(q.get("date_to")),
        action=q.get("action", "") if q.get("action", "") in dict(DOCTOR_ACTIONS) else "",
        emergency_only=q.get("emergency") == "1",
        unreviewed_by=user.id if q.get("unreviewed") == "1" else None,
        exclude_actions=present.OWN_LOG_ACTIONS,
    )


@router.get("/access")
def doctor_access(request: Request, session: SessionDep, engine: EngineDep, user: Doctor):
    """Every access to the doctor's patients, newest first; unreviewed emergency accesses stand out."""
    patients = patients_of(session, user)
    q = request.query_params
    f = _doctor_filter(user, patients, q)
    page = page_number(q.get("page"))
    record_access(
        engine=engine, request=request, user=user, action="audit.view", fields="doctor:patients", purpose="review"
    )
    events, total = audit.search(session=session, filter=f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pending = audit.search(
        session=session,
        filter=audit.AuditFilter(person_ids=list(patients), emergency_only=True, unreviewed_by=user.id),
        limit=1,
    )[1]
    return render(
        request,
        "doctor/access.html",
        section="access",
        events=events,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        patients=patients,
        reviews=audit.reviews_for(session=session, seqs=[e.seq for e in events]),
        pending=pending,
        q=q,
        query=query_without_page(q),
        actions=DOCTOR_ACTIONS,
        present=present,
    )


@router.post("/access/{seq}/review")
def doctor_review(seq: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: Doctor, form: FormData):
    """Mark one access to a patient as reviewed by this doctor (a review row; the event is untouched)."""
    event = audit.get_event(session=session, seq=seq)
    patients = patients_of(session, user)
    if event.person_id not in patients:
        raise Forbidden("この方の主治医ではないため、確認できません")
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.review",
        person=patients[event.person_id],
        fields=f"seq={seq}",
        purpose=form.get("note", "")[:400],
    )
    audit.add_review(
        session=session, event_seq=seq, reviewer_user_id=user.id, reviewer_role=user.role, note=form.get("note", "")
    )
    if is_htmx(request):
        return render(
            request,
            "doctor/_partials/access_row.html",
            event=event,
            patients=patients,
            present=present,
            reviews=audit.reviews_for(session=session, seqs=[seq]),
        )
    back = urlencode(parse_qsl(form.get("back", "")))  # the list's filters, re-encoded: never a URL
    return RedirectResponse("/doctor/access" + (f"?{back}" if back else ""), status_code=303)
