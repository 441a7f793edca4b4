"""The audit log for admins: search, CSV export, anomalies, verification.

The full log, which says who looked at whom, is for admins only (least privilege); city staff
get the monthly statistics (``app.reports``), which hold counts and no personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel import Session, select

from app.audit import anomalies
from app.audit import service as audit
from app.audit.signing import audit_keys
from app.audit.verify import verify_database
from app.auth.access_log import record_access
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.core.clock import to_jst, today_jst
from app.core.config import get_settings
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import Invalid
from app.core.i18n import gettext as _
from app.core.templating import render
from app.core.text import strip_control
from app.devices.models import Device
from app.persons import service as persons
from app.persons.models import Person
from app.reviews import present
from app.reviews.paging import PAGE_SIZE, page_number, parse_day

Admin = Annotated[User, Depends(require_roles(Role.admin))]
router = APIRouter(prefix="/admin/audit", include_in_schema=False, dependencies=[Depends(require_roles(Role.admin))])

FILTER_KEYS = ("person", "username", "organisation", "date_from", "date_to", "action", "emergency", "outcome")


def _text(q, name: str, limit: int = 200) -> str:
    return strip_control(q.get(name) or "").strip()[:limit]


def _filter(session, q) -> audit.AuditFilter:
    """The search form as a filter; a person is found by id, or by name, kana, phone … like the staff search."""
    person = _text(q, "person", 100)
    person_ids = None
    if person.isascii() and person.isdigit():
        person_ids = [int(person)] if int(person) <= 2_147_483_647 else []
    elif person:
        person_ids = [p.id for p, _household in persons.search(session=session, query=person)]
    return audit.AuditFilter(
        person_ids=person_ids,
        username=_text(q, "username", 64),
        organisation=_text(q, "organisation"),
        date_from=parse_day(q.get("date_from")),
        date_to=parse_day(q.get("date_to")),
        action=_text(q, "action", 40),
        emergency_only=q.get("emergency") == "1",
        outcome=_text(q, "outcome", 20),
    )


def _described(q) -> str:
    return "; ".join(f"{k}={q.get(k)}" for k in FILTER_KEYS if q.get(k))[:400]


def _names(session, events) -> dict[int, str]:
    ids = {e.person_id for e in events if e.person_id}
    return {p.id: p.full_name for p in session.exec(select(Person).where(Person.id.in_(ids)))} if ids else {}


def _enrolled_devices(session) -> set[str]:
    return set(session.exec(select(Device.name).where(Device.enrolled_at.is_not(None))))


@router.get("")
def audit_page(request: Request, session: SessionDep, engine: EngineDep, user: Admin, verified: str = ""):
    """Search the whole log; anomalies to review on top."""
    q = request.query_params
    f = _filter(session, q)
    page = page_number(q.get("page"))
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.search",
        fields=_described(q) or "recent",
        purpose="review",
    )
    events, total = audit.search(session=session, filter=f, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    found = anomalies.detect(session=session, settings=get_settings(), enrolled_devices=_enrolled_devices(session))
    query = urlencode({k: q.get(k) for k in FILTER_KEYS if q.get(k)})
    return render(
        request,
        "admin/audit.html",
        section="audit",
        events=events,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        names=_names(session, events),
        anomalies=found[:50],
        anomaly_count=len(found),
        q=q,
        query=query,
        actions=sorted(present.ACTIONS.items()),
        outcomes=sorted(present.OUTCOMES.items()),
        present=present,
        settings=get_settings(),
        verify=None,
    )


@router.post("/verify")
def verify_now(request: Request, session: SessionDep, engine: EngineDep, user: Admin):
    """Run the same check as ``lifeline audit verify`` and show the result."""
    report = verify_database(engine, keys=audit_keys().public_keys())
    first = report.first_broken
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.verify",
        fields=f"records={report.records}",
        purpose=first.describe() if first else "",
        outcome="ok" if report.ok else "broken",
    )
    return render(request, "admin/audit_verify.html", section="audit", report=report, first=first)


@router.post("/anomalies/{rule}/{seq}/review")
def review_anomaly(rule: str, seq: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: Admin):
    """The admin has looked into an anomaly: it leaves the panel (the events stay as they are)."""
    if rule not in anomalies.RULES:
        raise Invalid("不明な確認の種類です")
    event = audit.get_event(session=session, seq=seq)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.review",
        fields=f"anomaly:{rule} seq={seq}",
        household_id=event.household_id,
        purpose="anomaly",
    )
    audit.add_review(
        session=session, event_seq=seq, reviewer_user_id=user.id, reviewer_role=user.role, kind=f"anomaly:{rule}"
    )
    return RedirectResponse("/admin/audit#anomalies", status_code=303)


def _csv(engine, f: audit.AuditFilter) -> Iterator[str]:
    """The CSV in chunks, read on its own session (the request's is gone once streaming starts)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("連番"),
            _("日時（日本時間）"),
            _("利用者"),
            _("役割"),
            _("所属"),
            _("端末"),
            _("操作"),
            _("操作コード"),
            _("対象者ID"),
            _("対象者"),
            _("世帯ID"),
            _("項目"),
            _("目的・理由"),
            _("事案番号"),
            _("緊急閲覧"),
            _("結果"),
            _("IPアドレス"),
            _("ハッシュ"),
        ]
    )
    # A BOM, so that Excel (the city's tool) opens the Japanese text as UTF-8.
    yield "\ufeff" + out.getvalue()
    with Session(engine) as session:
        for batch in audit.iter_matching(session=session, filter=f, batch=500):
            out.seek(0)
            out.truncate()
            names = _names(session, batch)
            for e in batch:
                writer.writerow(
                    [
                        e.seq,
                        to_jst(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                        e.actor_username,
                        e.actor_role,
                        e.organisation,
                        e.device,
                        present.action_label(e.action),
                        e.action,
                        e.person_id or "",
                        names.get(e.person_id, ""),
                        e.household_id or "",
                        e.fields,
                        e.purpose,
                        e.incident,
                        "1" if e.emergency else "",
                        e.outcome,
                        e.ip,
                        e.hash,
                    ]
                )
            yield out.getvalue()


@router.get("/export.csv")
def export_csv(request: Request, session: SessionDep, engine: EngineDep, user: Admin):
    """Every matching record as CSV (UTF-8 with BOM); the export itself is recorded first."""
    q = request.query_params
    f = _filter(session, q)
    event = record_access(
        engine=engine,
        request=request,
        user=user,
        action="audit.export",
        fields=_described(q) or "all",
        purpose="export",
    )
    name = f"lifeline-audit-{today_jst().isoformat()}-{event.seq}.csv"
    return StreamingResponse(
        _csv(engine, f),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
