"""The one way a route gets a person's medical data: checked, then audited, then returned.

If the audit record cannot be written the data is not returned (DESIGN.md §6).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.core.deps import IdPath, CurrentUser, EngineDep, SessionDep
from app.core.errors import DomainError, Forbidden
from app.persons import access
from app.persons import service as persons
from app.persons.models import Person


class AuditWriteFailed(DomainError):
    status_code = 503


def record_access(*, engine, request: Request, user: User, action: str, person: Person | None = None,
                  household_id: int | None = None, fields: str = "", purpose: str = "", incident: str = "",
                  emergency: bool = False, outcome: str = "ok") -> AuditEvent:
    """Append the access to the audit log and return it, or refuse with a clear error."""
    try:
        return audit.append(
            engine=engine, action=action, actor_user_id=user.id, actor_username=user.username,
            actor_role=Role(user.role).value, organisation=user.organisation,
            device=request.headers.get("user-agent", "")[:100],
            person_id=person.id if person else None,
            household_id=person.household_id if person else household_id,
            fields=fields, purpose=purpose, incident=incident, emergency=emergency, outcome=outcome,
            ip=request.client.host if request.client else "",
        )
    except audit.AuditUnavailable:
        raise AuditWriteFailed("アクセス記録を書き込めないため、情報を表示できません。しばらくしてから再度お試しください。管理者にお知らせください。") from None


def audited_person(action: str, fields: str):
    """Dependency factory: the person of ``person_id`` if the user may read it; access audited."""

    def dependency(person_id: IdPath, request: Request, user: CurrentUser, session: SessionDep, engine: EngineDep) -> Person:
        person = persons.get(session=session, person_id=person_id)
        if not access.can_read(user, person):
            record_access(engine=engine, request=request, user=user, action=action, person=person, fields=fields, outcome="refused")
            raise Forbidden("この方の情報を見る権限がありません")
        record_access(engine=engine, request=request, user=user, action=action, person=person, fields=fields, purpose=user.role)
        return person

    dependency.audited = True  # read by the test that every medical route is audited
    return dependency


PersonView = Annotated[Person, Depends(audited_person("person.view", "dataset"))]
PersonHistoryView = Annotated[Person, Depends(audited_person("person.history", "history"))]
