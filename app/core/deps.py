"""Typed dependency aliases shared by every router: the database, the settings, form data, ids in paths.

Who is signed in and which roles a route admits are the auth domain's (``app.auth.deps``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.config import Settings, get_settings
from app.core.db import get_session, request_engine

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(request_engine)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _form_data(request: Request) -> dict[str, str]:
    """The submitted form's text fields (files are read by the routes that take them)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(_form_data)]

# Database ids in paths: a 64-bit overflow or a negative id is a clean 422, not a driver error.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
