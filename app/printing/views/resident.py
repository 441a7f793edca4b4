"""A fresh information sheet for the fridge, printed by the family from its own page."""

from __future__ import annotations

import io
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.auth import service as auth
from app.auth.deps import require_roles
from app.auth.models import Role
from app.core.deps import EngineDep
from app.persons.deps import audited_person
from app.persons.models import Person
from app.printing import batch
from app.residents.views.household import Resident

router = APIRouter(prefix="/me", include_in_schema=False, dependencies=[Depends(require_roles(Role.resident))])
SheetView = Annotated[Person, Depends(audited_person("print.sheet", "sheet"))]


@router.get("/persons/{person_id}/sheet.pdf")
def sheet(person: SheetView, engine: EngineDep, user: Resident):
    """The information sheet as it stands now (the access was recorded by the dependency)."""
    out = io.BytesIO()
    batch.print_sheets(
        engine=engine, actor=auth.actor_of(user), person_ids=[person.id], out=out, audit=lambda action, p: None
    )
    filename = f"情報シート-{person.id}.pdf"
    return Response(
        out.getvalue(),
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"sheet-{person.id}.pdf\"; filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "no-store",
        },
    )
