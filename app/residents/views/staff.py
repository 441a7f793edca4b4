"""Staff side of resident self-service: the reprint queue, and resetting a household's sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth.access_log import record_access
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.templating import render
from app.households import service as households
from app.persons.deps import audited_changes
from app.residents import reprint, signin

router = APIRouter(
    prefix="/staff",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("household"))],
)


@router.get("/reprint")
def reprint_queue(request: Request, session: SessionDep, engine: EngineDep, user: StaffUser):
    """Cards whose printed fields (name, date of birth, doctors, contacts) changed after printing."""
    items = reprint.stale_cards(session=session)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="person.reprint_queue",
        fields=f"results={len(items)}",
        purpose="registry",
    )
    return render(request, "staff/reprint.html", section="reprint", items=items)


@router.get("/households/{household_id}/residents")
def resident_accounts(household_id: IdPath, request: Request, session: SessionDep):
    household = households.get(session=session, household_id=household_id)
    return render(
        request,
        "staff/resident_accounts.html",
        household=household,
        done=request.query_params.get("done"),
        accounts=signin.accounts(session=session, household_id=household_id),
        live_code=signin.has_live_code(session=session, household_id=household_id),
    )


@router.post("/households/{household_id}/residents/reset")
def reset_residents(household_id: IdPath, session: SessionDep):
    """End the household's resident accounts and code; a new letter (kit print) gives a fresh code."""
    households.get(session=session, household_id=household_id)
    ended = signin.reset_household(session=session, household_id=household_id)
    return RedirectResponse(f"/staff/households/{household_id}/residents?done={ended}", status_code=303)
