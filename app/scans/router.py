"""``POST /api/v1/scans``: verify first, audit, then the emergency summary (paramedics on an enrolled device only)."""

from __future__ import annotations

from functools import partial
from typing import NoReturn

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.auth.access_log import record_access
from app.cards.credential import Status
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import Invalid
from app.devices.deps import OnDevice, ParamedicOnDevice, scan_rate_limit
from app.directory import service as directory
from app.persons.models import Person
from app.scans import service as scans
from app.scans.models import TransportPublic
from app.scans.schemas import (
    MAX_CARD_NUMBER,
    MAX_QR_TEXT,
    CardNumberRequest,
    DestinationRequest,
    OfflineReceipt,
    OfflineScan,
    ScanRequest,
    ScanResult,
)

router = APIRouter(prefix="/api/v1", tags=["scans"], dependencies=[Depends(scan_rate_limit)])


def _answer(
    verified: scans.Verified,
    *,
    on: OnDevice,
    incident: str,
    reason: str,
    request: Request,
    session,
    engine,
    entry: str = "",
) -> ScanResult:
    """Every attempt is audited; only a genuine, registered card returns the summary."""
    result, card = verified.result, verified.card
    common = dict(
        engine=engine,
        request=request,
        user=on.user,
        incident=incident.strip(),
        purpose=reason.strip(),
        device=on.device.name,
    )
    if result.status != Status.GENUINE or card is None:
        status, message = (
            (result.status.value, result.message_ja)
            if result.status != Status.GENUINE
            else ("unregistered", scans.UNREGISTERED)
        )
        event = record_access(action="scan.verify", fields="credential" + entry, outcome=status, **common)
        return ScanResult(
            status=status,
            message=message,
            reason=result.reason,
            newer_card_exists=result.newer_card_exists,
            audit_id=event.id,
        )
    person = session.get(Person, card.person_id)
    summary = scans.summarize(session=session, person=person)
    emergency = not summary.consent_in_force
    if emergency and not reason.strip():
        raise Invalid(
            "この方は同意の記録がありません。生命を守るために閲覧する場合は、理由を入力してください", field="reason"
        )
    event = record_access(
        action="scan.view", person=person, fields="emergency_summary" + entry, emergency=emergency, **common
    )
    return ScanResult(
        status=result.status.value,
        message=result.message_ja,
        card_number=card.card_number,
        emergency_access=emergency,
        audit_id=event.id,
        summary=summary,
    )


def _refuse_unreadable(
    text: str, *, field: str, limit: int, entry: str, on: OnDevice, incident: str, reason: str, request: Request, engine
) -> NoReturn:
    """Text too long to be a card: recorded as an unreadable scan (as a malformed card is), then refused (422)."""
    record_access(
        engine=engine,
        request=request,
        user=on.user,
        action="scan.verify",
        fields=scans.unreadable_fields(entry=entry, text=text),
        incident=incident.strip(),
        purpose=reason.strip(),
        outcome=Status.MALFORMED.value,
        device=on.device.name,
    )
    # The same answer the schema gave before the attempt was recorded: the field and its limit.
    raise RequestValidationError(
        [{"type": "string_too_long", "loc": ("body", field), "msg": "", "input": None, "ctx": {"max_length": limit}}]
    )


@router.post("/scans", response_model=ScanResult)
def scan(
    body: ScanRequest, request: Request, session: SessionDep, engine: EngineDep, on: ParamedicOnDevice
) -> ScanResult:
    """Verify a scanned card; for a genuine one, record the access and return the emergency summary.

    Every attempt is audited, including forged or revoked cards. A person without consent on
    record can be shown only to protect life (APPI 27-1-2): a reason is then required and the
    access is flagged for review by the person and their doctor.
    """
    if len(body.qr) > MAX_QR_TEXT:
        _refuse_unreadable(
            body.qr,
            field="qr",
            limit=MAX_QR_TEXT,
            entry="credential",
            on=on,
            incident=body.incident,
            reason=body.reason,
            request=request,
            engine=engine,
        )
    verified = scans.check(session=session, qr=body.qr)
    return _answer(
        verified, on=on, incident=body.incident, reason=body.reason, request=request, session=session, engine=engine
    )


@router.post("/scans/card-number", response_model=ScanResult)
def scan_card_number(
    body: CardNumberRequest, request: Request, session: SessionDep, engine: EngineDep, on: ParamedicOnDevice
) -> ScanResult:
    """The same as a scan, for a QR that cannot be read: the crew types the number printed on the card.

    The server checks the card it issued under that number (revocation included); the number is
    random (64 bits), so knowing it means having the card in hand.
    """
    if len(body.card_number) > MAX_CARD_NUMBER:
        _refuse_unreadable(
            body.card_number,
            field="card_number",
            limit=MAX_CARD_NUMBER,
            entry="card_number",
            on=on,
            incident=body.incident,
            reason=body.reason,
            request=request,
            engine=engine,
        )
    card = scans.card_by_number(session=session, card_number=body.card_number)
    if card is None:
        event = record_access(
            engine=engine,
            request=request,
            user=on.user,
            action="scan.verify",
            fields="card_number",
            incident=body.incident.strip(),
            purpose=body.reason.strip(),
            outcome="not_found",
            device=on.device.name,
        )
        return ScanResult(status="not_found", message=scans.NUMBER_NOT_FOUND, audit_id=event.id)
    verified = scans.check(session=session, qr=card.qr_text)
    return _answer(
        verified,
        on=on,
        incident=body.incident,
        reason=body.reason,
        request=request,
        session=session,
        engine=engine,
        entry=";card_number",
    )


@router.post(
    "/scans/offline",
    response_model=OfflineReceipt,
    status_code=201,
    responses={200: {"model": OfflineReceipt, "description": "Already recorded (a resend)"}},
)
def scan_offline(body: OfflineScan, request: Request, session: SessionDep, on: ParamedicOnDevice):
    """Record a scan the device made without network (queued there, sent when the network returns).

    Idempotent by ``client_id``: a resend answers 200 with the first record, and only one audit
    record is ever written for it. A card revoked by now (the device had not learned of it yet) or
    unknown here is recorded with that outcome and flagged for an admin's review. No data is returned.
    """
    existing = scans.offline_receipt(session=session, client_id=str(body.client_id))
    if existing is None:
        found = scans.offline_card(session=session, data=body)
        audit = partial(
            record_access,
            request=request,
            user=on.user,
            action="scan.offline",
            person=found.person,
            fields=scans.offline_fields(data=body, found=found),
            incident=body.incident.strip(),
            purpose=body.reason.strip(),
            outcome=found.outcome,
            device=on.device.name,
        )
        row, created = scans.store_offline(
            session=session, data=body, device_id=on.device.id, user_id=on.user.id, audit=audit
        )
        if created:
            return OfflineReceipt(client_id=body.client_id, audit_id=row.audit_id, already_recorded=False)
        existing = row
    receipt = OfflineReceipt(client_id=body.client_id, audit_id=existing.audit_id, already_recorded=True)
    return JSONResponse(receipt.model_dump(mode="json"), status_code=200)


@router.post("/scans/{audit_id}/destination", response_model=TransportPublic, status_code=201)
def choose_destination(
    audit_id: IdPath,
    body: DestinationRequest,
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    on: ParamedicOnDevice,
) -> TransportPublic:
    """The hospital the crew takes the person to, for one of their own scans (the latest choice counts)."""
    event = scans.own_scan(session=session, audit_id=audit_id, user_id=on.user.id)
    transport = scans.choose_destination(
        session=session, event=event, institution_id=body.institution_id, device_id=on.device.id, user_id=on.user.id
    )
    person = session.get(Person, transport.person_id)
    institution_name = directory.get_institution(session=session, institution_id=transport.institution_id).name
    record_access(
        engine=engine,
        request=request,
        user=on.user,
        action="scan.destination",
        person=person,
        fields=f"destination {transport.institution_id}",
        purpose=institution_name,
        incident=transport.incident,
        device=on.device.name,
    )
    return TransportPublic.model_validate(transport, update={"institution_name": institution_name})
