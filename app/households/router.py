"""JSON API for households (city staff)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from app.auth import service as auth
from app.auth.access_log import record_access
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import StaleVersion
from app.history import conflicts
from app.households import service as households
from app.households.models import Household, HouseholdCreate, HouseholdListItem, HouseholdPublic, HouseholdUpdate
from app.households.schemas import HouseholdConflict
from app.persons.deps import audited_changes

router = APIRouter(
    prefix="/api/v1/households",
    tags=["households"],
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("household"))],
)


@router.get("", response_model=list[HouseholdListItem])
def list_households(
    session: SessionDep,
    pending_kit: bool = False,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2_147_483_647),
) -> list[Household]:
    """Households by address; ``pending_kit=true``: elderly-only ones without a delivered kit."""
    return households.list_households(session=session, pending_kit=pending_kit, limit=limit, offset=offset)


@router.post("", response_model=HouseholdPublic, status_code=201)
def create(data: HouseholdCreate, session: SessionDep, user: StaffUser) -> Household:
    """Register a household."""
    return households.create(session=session, actor=auth.actor_of(user), data=data)


@router.get("/{household_id}", response_model=HouseholdPublic)
def read(household_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser) -> Household:
    """One household."""
    household = households.get(session=session, household_id=household_id)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="household.view",
        household_id=household.id,
        purpose="registry",
    )
    return household


@router.put(
    "/{household_id}",
    response_model=HouseholdPublic,
    responses=conflicts.responses(HouseholdConflict, "Saved by someone else since `version`: the stored household."),
)
def update(
    household_id: IdPath,
    data: HouseholdUpdate,
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    user: StaffUser,
):
    """Replace a household's details; 409 when ``version`` is stale, with the stored version."""
    try:
        return households.update(session=session, actor=auth.actor_of(user), household_id=household_id, data=data)
    except StaleVersion as exc:
        return conflicts.problem(
            HouseholdConflict,
            exc,
            submitted=data,
            public=HouseholdPublic,
            entity="household",
            engine=engine,
            request=request,
            user=user,
        )
