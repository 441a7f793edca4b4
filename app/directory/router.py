"""Directory API: the region's institutions (e.g. the hospitals a crew can choose as destination)."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import CurrentUser
from app.core.deps import SessionDep
from app.directory import service as directory
from app.directory.models import Institution, InstitutionKind, InstitutionPublic

router = APIRouter(prefix="/api/v1/institutions", tags=["directory"])


@router.get("", response_model=list[InstitutionPublic])
def list_institutions(session: SessionDep, user: CurrentUser, kind: InstitutionKind | None = None) -> list[Institution]:
    """Active institutions of the region, by kind and kana; ``kind=hospital`` for transport destinations."""
    return [i for i in directory.list_institutions(session=session, active_only=True) if kind is None or i.kind == kind]
