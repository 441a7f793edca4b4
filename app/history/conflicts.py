"""Edit conflicts: what an editor sent beside what is stored now, field by field.

Optimistic locking (``app.core.models.optimistic_lock``) refuses the second of two saves; this is
what the second editor is shown then, in the web form (their input stays in it) and as the
body of the API's 409, so that they can re-apply their change knowingly and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi.responses import JSONResponse
from sqlmodel import SQLModel

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


def problem(
    model: type[EditConflict], exc: StaleVersion, *, submitted: SQLModel, public: type[SQLModel]
) -> JSONResponse:
    """The 409 response: the translated message, the stored version and where the two disagree."""
    current = public.model_validate(exc.current)
    body = model(
        title=_("更新の競合"),
        detail=exc.translated(),
        current_version=current.version,
        current=current,
        conflicting_fields=[d.field for d in compare(submitted=submitted, current=exc.current)],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=409, media_type="application/problem+json")
