"""A lost card and consent: what a family can do without going to city hall (a fresh sheet: ``app.printing``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth import service as auth
from app.auth.deps import require_roles
from app.auth.models import Role
from app.cards import service as cards
from app.cards.models import RevokeReason
from app.core.clock import today_jst
from app.core.deps import FormData, SessionDep
from app.core.errors import DomainError, Invalid
from app.core.templating import render
from app.persons import dataset, flows
from app.persons.deps import audited_changes
from app.persons.models import ConsentBase, Person
from app.residents.views.household import Editable, Resident

router = APIRouter(
    prefix="/me",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.resident)), Depends(audited_changes("person", editors=(Role.resident,)))],
)
ONLINE = "online"  # consent given again on these pages (label: オンライン（本人・家族）)


@router.get("/persons/{person_id}/card")
def card_page(person: Editable, request: Request, session: SessionDep):
    return render(
        request,
        "resident/card.html",
        section="home",
        person=person,
        done=request.query_params.get("done") == "1",
        card=cards.current(session=session, person_id=person.id),
        cards=cards.list_for_person(session=session, person_id=person.id),
    )


@router.post("/persons/{person_id}/card/lost")
def card_lost(person: Editable, session: SessionDep, user: Resident, form: FormData):
    """Replace a lost card: the old one stops working at once; the city prints and mails the new one."""
    if form.get("confirm") != "yes":
        raise Invalid("確認のチェックを入れてください")
    cards.reissue(session=session, actor=auth.actor_of(user), person_id=person.id, reason=RevokeReason.lost)
    return RedirectResponse(f"/me/persons/{person.id}/card?done=1", status_code=303)


@router.get("/persons/{person_id}/consent")
def consent_page(person: Editable, request: Request, session: SessionDep):
    return render(
        request,
        "resident/consent.html",
        section="home",
        person=person,
        error=None,
        consents=dataset.list_consents(session=session, person_id=person.id),
        current=dataset.current_consent(session=session, person_id=person.id),
    )


def _consent_error(request: Request, session, person: Person, message: str):
    session.rollback()
    return render(
        request,
        "resident/consent.html",
        section="home",
        person=person,
        error=message,
        status_code=422,
        consents=dataset.list_consents(session=session, person_id=person.id),
        current=dataset.current_consent(session=session, person_id=person.id),
    )


@router.post("/persons/{person_id}/consent/withdraw")
def withdraw(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    """Withdraw: the card is revoked at once and sharing stops; the data is kept (policy: docs/residents.md)."""
    if form.get("confirm") != "yes":
        return _consent_error(
            request, session, person, Invalid("「内容を読みました」にチェックを入れてください").translated()
        )
    try:
        flows.withdraw_consent(
            session=session,
            actor=auth.actor_of(user),
            person_id=person.id,
            reason=(form.get("reason", "").strip() or "本人・家族による撤回")[:400],
        )
    except DomainError as exc:
        return _consent_error(request, session, person, exc.translated())
    return RedirectResponse(f"/me/persons/{person.id}/consent", status_code=303)


@router.post("/persons/{person_id}/consent")
def consent_again(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    """Consent again online; a new card can then be issued by the city."""
    if form.get("agree") != "yes":
        return _consent_error(
            request, session, person, Invalid("「同意します」にチェックを入れてください").translated()
        )
    actor = auth.actor_of(user)
    try:
        dataset.record_consent(
            session=session,
            actor=actor,
            person_id=person.id,
            data=ConsentBase(consented_on=today_jst(), method=ONLINE, proxy_name=actor.name[:100]),
        )
    except DomainError as exc:
        return _consent_error(request, session, person, exc.translated())
    return RedirectResponse(f"/me/persons/{person.id}/consent", status_code=303)
