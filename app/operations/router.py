"""Liveness and readiness."""

from fastapi import APIRouter
from sqlalchemy import text

from app.core.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    """``ok`` when the service answers and its database does."""
    session.exec(text("SELECT 1"))
    return {"status": "ok"}
