"""Edit conflicts: what an editor sent beside what is stored now, field by field.

Optimistic locking (``app.core.models.optimistic_lock``) refuses the second of two saves; this is
what the second editor is shown then, in the web form (their input stays in it) and as the
body of the API's 409, so that they can re-apply their change knowingly and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, SQLModel

from app.auth.access_log import record_access
from app.auth.models import User
from app.core.errors import StaleVersion
from app.core.i18n import gettext as _
from app.history import service as history

PROBLEM_TYPE = "urn:lifeline:problem:edit-conflict"


@dataclass(frozen=True)
class Difference:
    field: str
    yours: str
    current: str


def compare(
    *, submitted: SQLModel, current: SQLModel, display: Callable[[str, str | None], str] | None = None
) -> list[Difference]:
    """The fields where ``submitted`` (an XUpdate) and the stored row differ, as display text."""
    fields = [f for f in type(submitted).model_fields if f != "version"]
    show = display or (lambda _field, value: value or "")
    return [
        Difference(field, show(field, yours), show(field, stored))
        for field, stored, yours in history.diff(current.model_dump(), submitted.model_dump(), fields)
    ]


class EditConflict(SQLModel):
    """RFC 9457 problem details of a refused save; subclasses add ``current``, the stored record."""

    type: str = PROBLEM_TYPE
    title: str
    status: int = 409
    detail: str
    current_version: int
    conflicting_fields: list[str]


def responses(model: type[EditConflict], description: str) -> dict:
    """The OpenAPI entry of the 409 (served as ``application/problem+json``)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {409: {"model": model, "description": description, "content": {"application/problem+json": {"schema": ref}}}}


def _record_shown(*, engine, request: Request, user: User, entity: str, current: SQLModel) -> None:
    """The stored version is shown beside the submitted one: a read of it, audited as one."""
    record_access(
        engine=engine,
        request=request,
        user=user,
        action=f"{entity}.view",
        person=current if entity == "person" else None,
        household_id=current.id if entity == "household" else None,
        fields="conflict",
        purpose="change",
    )


def reread(
    *, session: Session, engine, request: Request, user: User, entity: str, reload: Callable[[], SQLModel]
) -> SQLModel:
    """After a web form's save was refused: roll back, read what is stored now, and record that it is shown.

    The page then shows both versions side by side, the editor's input kept in the form with
    the stored version's number, so that saving again re-applies it knowingly.
    """
    session.rollback()
    current = reload()
    _record_shown(engine=engine, request=request, user=user, entity=entity, current=current)
    return current


def problem(
    model: type[EditConflict],
    exc: StaleVersion,
    *,
    submitted: SQLModel,
    public: type[SQLModel],
    entity: str,
    engine,
    request: Request,
    user: User,
) -> JSONResponse:
    """The API's 409: the translated message, the stored version and where the two disagree (the read recorded)."""
    _record_shown(engine=engine, request=request, user=user, entity=entity, current=exc.current)
    current = public.model_validate(exc.current)
    body = model(
        title=_("更新の競合"),
        detail=exc.translated(),
        current_version=current.version,
        current=current,
        conflicting_fields=[d.field for d in compare(submitted=submitted, current=exc.current)],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=409, media_type="application/problem+json")
