"""Public card endpoints (keys, revocations, the URL printed in the QR) and the staff card API."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import SQLModel

from app.auth import service as auth
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.cards import service as cards
from app.cards.credential import Status, verify
from app.cards.models import Card, CardPublic, RevokeReason
from app.core import ratelimit
from app.core.deps import IdPath, SessionDep
from app.core.routing import combine
from app.core.templating import render
from app.persons.deps import audited_changes

public = APIRouter(tags=["cards"])
staff_api = APIRouter(
    prefix="/api/v1/persons/{person_id}/cards",
    tags=["cards"],
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("card"))],
)

# Offline verifiers cache these; a short max-age keeps revocations moving, ETag avoids refetching.
_PUBLIC_CACHE = "public, max-age=300"


class ReasonBody(SQLModel):
    reason: RevokeReason


@public.get("/.well-known/lifeline/keys.json")
def published_keys() -> JSONResponse:
    """Public card-verification keys (JWKS); earlier keys stay so printed cards keep verifying."""
    store = cards.keystore()
    store.ensure_active()
    return JSONResponse(
        store.public_jwks(), headers={"Cache-Control": _PUBLIC_CACHE, "Access-Control-Allow-Origin": "*"}
    )


@public.get("/.well-known/lifeline/revocations.json")
def published_revocations(session: SessionDep) -> JSONResponse:
    """The signed revocation list (flattened JWS, ES256) with its version counter."""
    doc = cards.revocation_document(session=session)
    return JSONResponse(doc, headers={"Cache-Control": _PUBLIC_CACHE, "Access-Control-Allow-Origin": "*"})


@public.get("/C/{payload}", include_in_schema=False, dependencies=[Depends(ratelimit.card_page)])
@public.get("/c/{payload}", include_in_schema=False, dependencies=[Depends(ratelimit.card_page)])
def card_url(payload: str, request: Request, session: SessionDep):
    """Where a phone camera lands: says what the card is and whether it is genuine, no personal data."""
    text = f"{request.url.scheme}://{request.url.netloc}/C/{payload}"
    result = verify(
        text,
        keys=cards.keystore().verification_keys(),
        revocations=cards.revocations(session=session),
        now=int(time.time()),
    )
    return render(
        request, "cards/public_card.html", result=result, genuine=result.status == Status.GENUINE, qr_text=text
    )


@staff_api.get("", response_model=list[CardPublic])
def list_cards(person_id: IdPath, session: SessionDep) -> list[Card]:
    """Every card issued to the person, newest first."""
    return cards.list_for_person(session=session, person_id=person_id)


@staff_api.post("", response_model=CardPublic, status_code=201)
def issue_card(person_id: IdPath, session: SessionDep, user: StaffUser) -> Card:
    """Issue the person's card (requires recorded consent)."""
    return cards.issue(session=session, actor=auth.actor_of(user), person_id=person_id)


@staff_api.post("/reissue", response_model=CardPublic, status_code=201)
def reissue_card(person_id: IdPath, body: ReasonBody, session: SessionDep, user: StaffUser) -> Card:
    """Replace a lost or damaged card; the old one is revoked at once."""
    return cards.reissue(session=session, actor=auth.actor_of(user), person_id=person_id, reason=body.reason)


@staff_api.post("/revoke", response_model=CardPublic | None)
def revoke_card(person_id: IdPath, body: ReasonBody, session: SessionDep, user: StaffUser) -> Card | None:
    """Cancel the person's active card."""
    return cards.revoke(session=session, actor=auth.actor_of(user), person_id=person_id, reason=body.reason)


router = combine(public, staff_api)
