"""Monthly statistics for the city: scans per fire department, cards issued, kits delivered.

Months are JST calendar months. Scans come from the audit log (a crew viewing a summary,
online or offline); cards and kits from their own tables. Counts only, no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.audit.service import jst_day_start
from app.cards.models import Card
from app.core.clock import to_jst
from app.core.i18n import gettext as _
from app.households.models import Household

SCAN_ACTIONS = ("scan.view", "scan.offline")


@dataclass
class Month:
    start: date
    scans: dict[str, int] = field(default_factory=dict)  # by fire department
    cards_issued: int = 0
    cards_reissued: int = 0
    kits_delivered: int = 0

    @property
    def key(self) -> str:
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def scans_total(self) -> int:
        return sum(self.scans.values())


def _month_starts(last: date, count: int) -> list[date]:
    starts, year, month = [], last.year, last.month
    for _month in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def monthly(*, session: Session, until: date, months: int = 12) -> list[Month]:
    """The ``months`` calendar months ending with the one containing ``until``, oldest first."""
    rows = {m.start: m for m in (Month(start) for start in _month_starts(until, months))}
    first = min(rows)
    since = jst_day_start(first)

    def bucket(day: date) -> Month | None:
        return rows.get(date(day.year, day.month, 1))

    for at, organisation in session.exec(
        select(AuditEvent.at, AuditEvent.organisation).where(
            AuditEvent.action.in_(SCAN_ACTIONS), AuditEvent.outcome == "ok", AuditEvent.at >= since
        )
    ):
        if m := bucket(to_jst(at).date()):
            m.scans[organisation] = m.scans.get(organisation, 0) + 1
    for issued_at, serial in session.exec(select(Card.issued_at, Card.serial).where(Card.issued_at >= since)):
        if m := bucket(to_jst(issued_at).date()):
            if serial > 1:
                m.cards_reissued += 1
            else:
                m.cards_issued += 1
    for delivered in session.exec(select(Household.kit_delivered_on).where(Household.kit_delivered_on >= first)):
        if m := bucket(delivered):
            m.kits_delivered += 1
    return list(rows.values())


def fire_departments(months: list[Month]) -> list[str]:
    """Every organisation with a scan in the period, busiest first."""
    totals: dict[str, int] = {}
    for m in months:
        for name, n in m.scans.items():
            totals[name] = totals.get(name, 0) + n
    return sorted(totals, key=lambda name: (-totals[name], name))


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: int


@dataclass
class Chart:
    """Geometry of a grouped bar chart, drawn as inline SVG by templates/audit/_chart.html."""

    width: int
    height: int
    left: int
    bottom: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # x, month label
    ticks: list[tuple[float, int]]  # y, value
    series: list[str]


def _nice_ceiling(value: int) -> int:
    step = 1
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= step * factor:
            return max(step * factor, 1)
    return value


def bar_chart(
    months: list[Month], series: list[tuple[str, list[int]]], *, width: int = 760, height: int = 260
) -> Chart:
    """Grouped bars: one group per month, one bar per series."""
    left, right, top, bottom = 44, 8, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling = _nice_ceiling(max((v for _name, values in series for v in values), default=0))
    group = plot_w / max(len(months), 1)
    bar_w = group * 0.8 / max(len(series), 1)
    bars = []
    for i in range(len(months)):
        for s, (_name, values) in enumerate(series):
            h = plot_h * values[i] / ceiling
            bars.append(
                Bar(
                    x=round(left + i * group + group * 0.1 + s * bar_w, 1),
                    y=round(top + plot_h - h, 1),
                    width=round(bar_w - 1, 1),
                    height=round(h, 1),
                    value=values[i],
                    series=s,
                )
            )
    labels = [(round(left + (i + 0.5) * group, 1), _("%(month)s月", month=m.start.month)) for i, m in enumerate(months)]
    fractions = (0, 0.5, 1) if ceiling % 2 == 0 else (0, 1)
    ticks = [(round(top + plot_h - plot_h * f, 1), int(ceiling * f)) for f in fractions]
    return Chart(
        width=width,
        height=height,
        left=left,
        bottom=top + plot_h,
        bars=bars,
        labels=labels,
        ticks=ticks,
        series=[name for name, _values in series],
    )
