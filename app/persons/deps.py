"""The one way a route gets a person's medical data: checked, then audited, then returned; and the
record of every change request before it is carried out.

If the audit record cannot be written the data is not returned (DESIGN.md §6).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.access_log import record_access
from app.auth.deps import CurrentUser
from app.auth.models import Role
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import Forbidden
from app.persons import access
from app.persons import service as persons
from app.persons.models import ClinicalEntry, EmergencyContact, Person


def audited_person(action: str, fields: str):
    """Dependency factory: the person of ``person_id`` if the user may read it; access audited."""

    def dependency(
        person_id: IdPath, request: Request, user: CurrentUser, session: SessionDep, engine: EngineDep
    ) -> Person:
        person = persons.get(session=session, person_id=person_id)
        if not access.can_read(user, person):
            record_access(
                engine=engine,
                request=request,
                user=user,
                action=action,
                person=person,
                fields=fields,
                outcome="refused",
            )
            raise Forbidden("この方の情報を見る権限がありません")
        record_access(
            engine=engine, request=request, user=user, action=action, person=person, fields=fields, purpose=user.role
        )
        return person

    dependency.audited = True  # read by the test that every medical route is audited
    return dependency


def _path_id(params: dict, name: str) -> int | None:
    try:
        value = int(params[name])
    except (KeyError, ValueError):
        return None
    return value if 1 <= value <= 2_147_483_647 else None


def _change_target(session, params: dict) -> tuple[Person | None, int | None]:
    """The person (or household) a change request is about, from the path parameters."""
    if (person_id := _path_id(params, "person_id")) is not None:
        return session.get(Person, person_id), None
    for name, model in (("entry_id", ClinicalEntry), ("contact_id", EmergencyContact)):
        if (row_id := _path_id(params, name)) is not None:
            row = session.get(model, row_id)
            return (session.get(Person, row.person_id) if row else None), None
    return None, _path_id(params, "household_id")


def audited_changes(entity: str, editors: tuple[Role, ...] = (Role.staff, Role.admin)):
    """Router dependency: every change request (POST, PUT, PATCH, DELETE) by one of ``editors`` is
    recorded before it is carried out, so nothing changes unrecorded; the field-level detail is in
    the history. Requests by other roles are left to the route, which refuses them.

    The action is ``<entity>.<route name>`` without a trailing ``_<entity>``, e.g. ``person.add_entry``.
    """

    def dependency(request: Request, user: CurrentUser, session: SessionDep, engine: EngineDep) -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") or Role(user.role) not in editors:
            return
        route = request.scope.get("route")
        name = getattr(route, "name", "") or "change"
        verb = name.removesuffix(f"_{entity}s").removesuffix(f"_{entity}")
        person, household_id = _change_target(session, request.path_params)
        record_access(
            engine=engine,
            request=request,
            user=user,
            action=f"{entity}.{verb}",
            person=person,
            household_id=household_id,
            fields=f"{request.method} {getattr(route, 'path', request.url.path)}",
            purpose="change",
            outcome="requested",
        )

    dependency.audits_changes = True  # read by the test that every change of personal data is audited
    return dependency


PersonView = Annotated[Person, Depends(audited_person("person.view", "dataset"))]
PersonHistoryView = Annotated[Person, Depends(audited_person("person.history", "history"))]
