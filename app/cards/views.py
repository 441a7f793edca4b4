"""Staff web UI actions on a person's card (the card section lives on the person page)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse

from app.auth import service as auth
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.cards import service as cards
from app.cards.models import RevokeReason
from app.core.deps import FormData, IdPath, SessionDep
from app.core.errors import Invalid
from app.persons.deps import audited_changes

router = APIRouter(
    prefix="/staff/persons/{person_id}/cards",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("card"))],
)


def _reason(form: dict[str, str]) -> RevokeReason:
    try:
        return RevokeReason(form.get("reason", ""))
    except ValueError:
        raise Invalid("理由を選んでください", field="reason") from None


def _back(person_id: int) -> RedirectResponse:
    return RedirectResponse(f"/staff/persons/{person_id}#card", status_code=303)


@router.post("/issue")
def issue(person_id: IdPath, session: SessionDep, user: StaffUser):
    cards.issue(session=session, actor=auth.actor_of(user), person_id=person_id)
    return _back(person_id)


@router.post("/reissue")
def reissue(person_id: IdPath, session: SessionDep, user: StaffUser, form: FormData):
    cards.reissue(session=session, actor=auth.actor_of(user), person_id=person_id, reason=_reason(form))
    return _back(person_id)


@router.post("/revoke")
def revoke(person_id: IdPath, session: SessionDep, user: StaffUser, form: FormData):
    cards.revoke(session=session, actor=auth.actor_of(user), person_id=person_id, reason=_reason(form))
    return _back(person_id)
