"""Jinja2 templates (top-level ``templates/``) with translations, CSRF and date filters."""
from __future__ import annotations

from datetime import date, datetime

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.core import i18n
from app.core.clock import to_jst
from app.core.config import ROOT_DIR
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
SOURCE_LABELS = {"resident": "本人・家族", "staff": "市職員", "doctor": "医師", "network": "医療機関", "import": "一括取込"}
# Labels for the change history; message ids are translated in the template.
FIELD_LABELS = {
    "family_name": "氏", "given_name": "名", "family_name_kana": "フリガナ（氏）", "given_name_kana": "フリガナ（名）",
    "print_name": "印刷用の表記", "birth_date": "生年月日", "sex": "性別", "phone": "電話番号", "status": "状態",
    "external_ref": "住民記録の番号", "dnar_status": "DNARの書面", "dnar_location": "書面の保管場所", "acp_notes": "ACPの希望",
    "family_doctor_id": "かかりつけ医", "second_doctor_id": "二人目の主治医", "blood_abo": "血液型", "blood_rh": "Rh",
    "usual_state": "普段の様子", "infection_notes": "感染症", "insurance_kind": "保険の種類", "insurer_number": "保険者番号",
    "insurance_symbol": "記号", "insurance_number": "番号", "insurance_branch": "枝番", "last_confirmed_on": "確認日",
    "last_confirmed_source": "確認者の種別", "postal_code": "郵便番号", "prefecture": "都道府県", "municipality": "市区町村",
    "address_line": "町名・番地", "building": "建物名", "welfare_commissioner": "担当民生委員",
    "welfare_commissioner_phone": "民生委員の電話番号", "kit_delivered_on": "キット配布日", "notes": "メモ",
    "allergy": "アレルギー", "medication": "服用中の薬", "condition": "病気・既往歴", "contact": "緊急連絡先", "consent": "同意",
    "consent.withdrawn_on": "同意の撤回", "allergy.status": "アレルギーの状態", "medication.status": "薬の状態",
    "condition.status": "病気の状態",
}
ROLE_LABELS = {"admin": "管理者", "staff": "市職員", "doctor": "医師", "paramedic": "救急隊員", "resident": "住民・家族"}
env.globals.update(role_labels=ROLE_LABELS, source_labels=SOURCE_LABELS, field_labels=FIELD_LABELS, csrf_input=csrf_input, csrf_token=csrf_token, current_language=i18n.current_language.get)


def render(request: Request, name: str, status_code: int = 200, **context):
    """Render a page or an htmx fragment with the signed-in user in context."""
    context.setdefault("user", getattr(request.state, "user", None))
    context["lang"] = i18n.current_language.get()
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
