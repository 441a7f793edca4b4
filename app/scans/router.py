"""``POST /api/v1/scans``: verify first, audit, then the emergency summary (paramedics only)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.audit.deps import record_access
from app.auth.models import Role, User
from app.cards.credential import Status
from app.core.deps import EngineDep, SessionDep, require_roles
from app.core.errors import Invalid
from app.persons.models import Person
from app.scans import service as scans
from app.scans.schemas import ScanRequest, ScanResult

router = APIRouter(prefix="/api/v1", tags=["scans"])
Paramedic = Annotated[User, Depends(require_roles(Role.paramedic))]


@router.post("/scans", response_model=ScanResult)
def scan(body: ScanRequest, request: Request, session: SessionDep, engine: EngineDep, user: Paramedic) -> ScanResult:
    """Verify a scanned card; for a genuine one, record the access and return the emergency summary.

    Every attempt is audited, including forged or revoked cards. A person without consent on
    record can be shown only to protect life (APPI 27-1-2): a reason is then required and the
    access is flagged for review by the person and their doctor.
    """
    verified = scans.check(session=session, qr=body.qr)
    result = verified.result
    card = verified.card
    common = dict(engine=engine, request=request, user=user, incident=body.incident.strip(), purpose=body.reason.strip())
    if result.status != Status.GENUINE or card is None:
        status, message = (result.status.value, result.message_ja) if result.status != Status.GENUINE else ("unregistered", scans.UNREGISTERED)
        event = record_access(action="scan.verify", fields="credential", outcome=status, **common)
        return ScanResult(status=status, message=message, reason=result.reason, newer_card_exists=result.newer_card_exists, audit_id=event.id)
    person = session.get(Person, card.person_id)
    summary = scans.summarize(session=session, person=person)
    emergency = not summary.consent_in_force
    if emergency and not body.reason.strip():
        raise Invalid("この方は同意の記録がありません。生命を守るために閲覧する場合は、理由を入力してください", field="reason")
    event = record_access(action="scan.view", person=person, fields="emergency_summary", emergency=emergency, **common)
    return ScanResult(status=result.status.value, message=result.message_ja, card_number=card.card_number,
                      emergency_access=emergency, audit_id=event.id, summary=summary)
