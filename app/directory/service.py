"""The region's institutions and practitioners."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core.errors import NotFound
from app.directory.models import Institution, InstitutionCreate, Practitioner, PractitionerCreate

# The institutions named in the region's policy (利根保健医療圏地域医療連携推進方針).
REGION_INSTITUTIONS: tuple[dict, ...] = (
    {
        "name": "済生会加須病院",
        "kana": "サイセイカイカゾビョウイン",
        "kind": "hospital",
        "beds": 304,
        "role_note": "地域の中核病院（旧 済生会栗橋病院）・救急",
    },
    {
        "name": "行田総合病院",
        "kana": "ギョウダソウゴウビョウイン",
        "kind": "hospital",
        "beds": 504,
        "role_note": "急性期・救急",
    },
    {
        "name": "東埼玉総合病院",
        "kana": "ヒガシサイタマソウゴウビョウイン",
        "kind": "hospital",
        "beds": 193,
        "role_note": "糖尿病の拠点（二人主治医制の専門医）",
    },
    {
        "name": "土屋小児病院",
        "kana": "ツチヤショウニビョウイン",
        "kind": "hospital",
        "beds": 40,
        "role_note": "小児医療センター",
    },
    {
        "name": "久喜総合病院",
        "kana": "クキソウゴウビョウイン",
        "kind": "hospital",
        "beds": 300,
        "role_note": "急性期・救急",
    },
    {
        "name": "加須市医療診断センター",
        "kana": "カゾシイリョウシンダンセンター",
        "kind": "imaging",
        "role_note": "画像診断（CT・MRI）の共同利用",
    },
    {
        "name": "北埼玉医師会立メディカルセンター",
        "kana": "キタサイタマイシカイリツメディカルセンター",
        "kind": "laboratory",
        "role_note": "臨床検査",
    },
)


def list_institutions(*, session: Session, active_only: bool = False) -> list[Institution]:
    """Institutions by kind and name."""
    stmt = select(Institution).order_by(Institution.kind, Institution.kana, Institution.id)
    if active_only:
        stmt = stmt.where(Institution.active)
    return list(session.exec(stmt))


def get_institution(*, session: Session, institution_id: int) -> Institution:
    """The institution, or NotFound."""
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound("医療機関が見つかりません")
    return institution


def create_institution(*, session: Session, data: InstitutionCreate) -> Institution:
    """Add an institution to the directory."""
    institution = Institution(**data.model_dump())
    session.add(institution)
    session.commit()
    session.refresh(institution)
    return institution


def update_institution(*, session: Session, institution_id: int, data: InstitutionCreate) -> Institution:
    """Replace an institution's details."""
    institution = get_institution(session=session, institution_id=institution_id)
    for key, value in data.model_dump().items():
        setattr(institution, key, value)
    session.add(institution)
    session.commit()
    return institution


def list_practitioners(*, session: Session, active_only: bool = False) -> list[tuple[Practitioner, Institution | None]]:
    """Practitioners with their institution, by kana."""
    stmt = (
        select(Practitioner, Institution).join(Institution, isouter=True).order_by(Practitioner.kana, Practitioner.id)
    )
    if active_only:
        stmt = stmt.where(Practitioner.active)
    return list(session.exec(stmt))


def get_practitioner(*, session: Session, practitioner_id: int) -> Practitioner:
    """The practitioner, or NotFound."""
    practitioner = session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound("医師が見つかりません")
    return practitioner


def create_practitioner(*, session: Session, data: PractitionerCreate) -> Practitioner:
    """Add a practitioner (a family doctor or specialist)."""
    if data.institution_id is not None:
        get_institution(session=session, institution_id=data.institution_id)
    practitioner = Practitioner(**data.model_dump())
    session.add(practitioner)
    session.commit()
    session.refresh(practitioner)
    return practitioner


def update_practitioner(*, session: Session, practitioner_id: int, data: PractitionerCreate) -> Practitioner:
    """Replace a practitioner's details."""
    practitioner = get_practitioner(session=session, practitioner_id=practitioner_id)
    if data.institution_id is not None:
        get_institution(session=session, institution_id=data.institution_id)
    for key, value in data.model_dump().items():
        setattr(practitioner, key, value)
    session.add(practitioner)
    session.commit()
    return practitioner


def seed_region(*, session: Session) -> int:
    """Add the region's institutions that are not in the directory yet; returns how many."""
    existing = {i.name for i in session.exec(select(Institution))}
    added = 0
    for entry in REGION_INSTITUTIONS:
        if entry["name"] not in existing:
            session.add(Institution(**InstitutionCreate.model_validate(entry).model_dump()))
            added += 1
    session.commit()
    return added
