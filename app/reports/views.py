"""Monthly statistics for city staff: counts only, no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.auth.deps import require_roles
from app.auth.models import Role
from app.core.clock import today_jst
from app.core.deps import SessionDep
from app.core.i18n import gettext as _
from app.core.templating import render
from app.reports import stats

router = APIRouter(
    prefix="/staff/statistics", include_in_schema=False, dependencies=[Depends(require_roles(Role.staff, Role.admin))]
)


@router.get("")
def statistics(request: Request, session: SessionDep):
    """Monthly scans per fire department, cards issued and kits delivered, with a chart."""
    months = stats.monthly(session=session, until=today_jst(), months=12)
    chart = stats.bar_chart(
        months,
        [
            (_("救急隊による閲覧"), [m.scans_total for m in months]),
            (_("カード発行"), [m.cards_issued + m.cards_reissued for m in months]),
            (_("キット配布"), [m.kits_delivered for m in months]),
        ],
    )
    return render(
        request,
        "staff/statistics.html",
        section="statistics",
        months=months,
        chart=chart,
        departments=stats.fire_departments(months),
    )
