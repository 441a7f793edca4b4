"""Staff web UI: search, households, the kit worklist."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth import service as auth
from app.auth.access_log import record_access
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.core.clock import today_jst
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.errors import Conflict, StaleVersion
from app.core.forms import parse_form, wareki_message
from app.core.templating import is_htmx, render
from app.core.wareki import WarekiError, age_on, parse_date
from app.history import conflicts
from app.households import service as households
from app.households.models import HouseholdCreate, HouseholdUpdate
from app.persons import service as persons
from app.persons.deps import audited_changes

router = APIRouter(
    prefix="/staff",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("household"))],
)


@router.get("/")
def dashboard(request: Request, session: SessionDep, engine: EngineDep, user: StaffUser, q: str = ""):
    results = persons.search(session=session, query=q) if q else None
    if q.strip():
        record_access(
            engine=engine,
            request=request,
            user=user,
            action="person.search",
            fields=f"results={len(results)}",
            purpose="registry",
        )
    return render(
        request,
        "staff/dashboard.html",
        section="home",
        q=q,
        results=results,
        counts=households.counts(session=session),
        today=today_jst(),
        age_on=age_on,
    )


@router.get("/search")
def search(request: Request, session: SessionDep, engine: EngineDep, user: StaffUser, q: str = ""):
    results = persons.search(session=session, query=q)
    if q.strip():
        record_access(
            engine=engine,
            request=request,
            user=user,
            action="person.search",
            fields=f"results={len(results)}",
            purpose="registry",
        )
    if not is_htmx(request):
        return RedirectResponse(f"/staff/?{urlencode({'q': q})}" if q else "/staff/", status_code=303)
    return render(
        request, "staff/_partials/search_results.html", q=q, results=results, today=today_jst(), age_on=age_on
    )


@router.get("/households/new")
def new_household(request: Request):
    return render(request, "staff/household_form.html", section="new", household=None, values={}, errors={})


@router.post("/households")
def create_household(request: Request, session: SessionDep, user: StaffUser, form: FormData):
    data, errors = parse_form(HouseholdCreate, form)
    if errors:
        return render(
            request,
            "staff/household_form.html",
            status_code=422,
            section="new",
            household=None,
            values=form,
            errors=errors,
        )
    household = households.create(session=session, actor=auth.actor_of(user), data=data)
    return RedirectResponse(f"/staff/households/{household.id}", status_code=303)


@router.get("/households/{household_id}")
def show_household(household_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser):
    household = households.get(session=session, household_id=household_id)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="household.view",
        household_id=household.id,
        fields="members",
        purpose="registry",
    )
    members = households.members(session=session, household_id=household_id)
    return render(
        request,
        "staff/household.html",
        household=household,
        members=members,
        today=today_jst(),
        age_on=age_on,
        elderly_only=households.is_elderly_only(members),
    )


@router.get("/households/{household_id}/edit")
def edit_household(household_id: IdPath, request: Request, session: SessionDep):
    household = households.get(session=session, household_id=household_id)
    values = household.model_dump()
    values["kit_delivered_on"] = household.kit_delivered_on.isoformat() if household.kit_delivered_on else ""
    return render(request, "staff/household_form.html", household=household, values=values, errors={})


@router.post("/households/{household_id}/edit")
def update_household(
    household_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser, form: FormData
):
    household = households.get(session=session, household_id=household_id)
    data, errors = parse_form(HouseholdUpdate, form)
    if not errors:
        try:
            households.update(session=session, actor=auth.actor_of(user), household_id=household_id, data=data)
            return RedirectResponse(f"/staff/households/{household_id}", status_code=303)
        except StaleVersion as exc:
            latest = conflicts.reread(
                session=session,
                engine=engine,
                request=request,
                user=user,
                entity="household",
                reload=lambda: households.get(session=session, household_id=household_id),
            )
            return render(
                request,
                "staff/household_form.html",
                status_code=409,
                household=latest,
                values=form,
                errors={"__all__": exc.translated()},
                latest=latest,
                differences=conflicts.compare(submitted=data, current=latest),
            )
        except Conflict as exc:  # e.g. the registry number belongs to another household
            session.rollback()
            return render(
                request,
                "staff/household_form.html",
                status_code=409,
                household=household,
                values=form,
                errors={"external_ref": exc.translated()},
            )
    return render(
        request, "staff/household_form.html", status_code=422, household=household, values=form, errors=errors
    )


@router.post("/households/{household_id}/kit-delivered")
def kit_delivered(household_id: IdPath, request: Request, session: SessionDep, user: StaffUser, form: FormData):
    try:
        on = parse_date(form.get("delivered_on") or today_jst().isoformat())
    except WarekiError as exc:
        household = households.get(session=session, household_id=household_id)
        members = households.members(session=session, household_id=household_id)
        return render(
            request,
            "staff/household.html",
            status_code=422,
            household=household,
            members=members,
            today=today_jst(),
            age_on=age_on,
            elderly_only=households.is_elderly_only(members),
            kit_error=wareki_message(exc.code),
        )
    households.mark_kit_delivered(session=session, actor=auth.actor_of(user), household_id=household_id, on=on)
    return RedirectResponse(f"/staff/households/{household_id}", status_code=303)


@router.get("/kits/pending")
def pending_kits(request: Request, session: SessionDep):
    return render(
        request,
        "staff/kits_pending.html",
        section="kits",
        households=households.list_households(session=session, pending_kit=True),
    )
