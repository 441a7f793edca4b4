"""What a signed-in user did, written to the audit log: the one call every audited route makes.

If the audit record cannot be written the data is not returned (DESIGN.md §6): the caller gets
``AuditWriteFailed`` (503) before anything is shown.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import Request

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.core.errors import DomainError


class AuditWriteFailed(DomainError):
    status_code = 503


class Subject(Protocol):
    """Whose record was accessed: a person row or a printed snapshot of one."""

    id: int
    household_id: int


def record_access(
    *,
    engine,
    request: Request,
    user: User,
    action: str,
    person: Subject | None = None,
    household_id: int | None = None,
    fields: str = "",
    purpose: str = "",
    incident: str = "",
    emergency: bool = False,
    outcome: str = "ok",
    device: str | None = None,
) -> AuditEvent:
    """Append the access to the audit log and return it, or refuse with a clear error.

    ``device`` names an enrolled EMS device; otherwise the browser's user agent is recorded.
    """
    try:
        return audit.append(
            engine=engine,
            action=action,
            actor_user_id=user.id,
            actor_username=user.username,
            actor_role=Role(user.role).value,
            organisation=user.organisation,
            device=(device if device is not None else request.headers.get("user-agent", ""))[:100],
            person_id=person.id if person else None,
            household_id=person.household_id if person else household_id,
            fields=fields,
            purpose=purpose,
            incident=incident,
            emergency=emergency,
            outcome=outcome,
            ip=request.client.host if request.client else "",
        )
    except audit.AuditUnavailable:
        raise AuditWriteFailed(
            "アクセス記録を書き込めないため、情報を表示できません。しばらくしてから再度お試しください。管理者にお知らせください。"
        ) from None
