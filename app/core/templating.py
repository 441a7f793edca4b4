"""Jinja2 templates (top-level ``templates/``) with translations, CSRF and date filters."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.core import i18n
from app.core.clock import to_jst
from app.core.config import ROOT_DIR
from app.core.labels import label
from app.core.wareki import format_seireki, format_wareki

templates = Jinja2Templates(directory=str(ROOT_DIR / "templates"))
env = templates.env
env.add_extension("jinja2.ext.i18n")
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def _wareki(value: date | None) -> str:
    return format_wareki(value) if value else ""


def _both(value: date | None) -> str:
    """昭和15年3月2日（1940年3月2日）: what a clerk and a crew read at a glance."""
    return f"{format_wareki(value)}（{format_seireki(value)}）" if value else ""


def _jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_jst(value)
    return local.strftime(fmt) if local else ""


def csrf_input(request: Request) -> Markup:
    token = request.scope["csrftoken"]() if "csrftoken" in request.scope else ""
    return Markup('<input type="hidden" name="csrftoken" value="%s">') % token


def csrf_token(request: Request) -> str:
    return request.scope["csrftoken"]() if "csrftoken" in request.scope else ""


env.filters.update(wareki=_wareki, wareki_both=_both, jst=_jst, iso=lambda d: d.isoformat() if d else "")
env.globals.update(
    label=label, csrf_input=csrf_input, csrf_token=csrf_token, current_language=i18n.current_language.get
)


def render(request: Request, name: str, status_code: int = 200, **context):
    """Render a page or an htmx fragment with the signed-in user in context."""
    context.setdefault("user", getattr(request.state, "user", None))
    context["lang"] = i18n.current_language.get()
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
