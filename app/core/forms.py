"""Turn submitted HTML forms into validated models with translated, per-field messages."""

from __future__ import annotations

import typing
from datetime import date

from pydantic import BaseModel, ValidationError

from app.core.i18n import gettext as _
from app.core.wareki import WarekiError, parse_date

WAREKI_MESSAGES = {
    "empty": "日付を入力してください",
    "unreadable": "日付として読み取れません（例：昭和15年3月2日、S15.3.2、1940-03-02）",
    "out_of_era": "その元号にその年はありません（例：昭和は64年まで）",
    "invalid_day": "存在しない日付です",
}

_PYDANTIC_MESSAGES = {
    "missing": "入力してください",
    "string_too_short": "入力してください",
    "string_too_long": "%(max_length)s文字以内で入力してください",
    "int_parsing": "数字で入力してください",
    "int_from_float": "整数で入力してください",
    "greater_than_equal": "%(ge)s以上の数を入力してください",
    "less_than_equal": "%(le)s以下の数を入力してください",
    "enum": "選択肢から選んでください",
    "date_from_datetime_parsing": "日付として読み取れません（例：昭和15年3月2日、S15.3.2、1940-03-02）",
    "date_parsing": "日付として読み取れません（例：昭和15年3月2日、S15.3.2、1940-03-02）",
    "bool_parsing": "はい・いいえで選んでください",
}


def wareki_message(code: str) -> str:
    return _(WAREKI_MESSAGES.get(code, WAREKI_MESSAGES["unreadable"]))


def _is_date_field(annotation) -> bool:
    return annotation is date or date in typing.get_args(annotation)


def message_id(error: dict) -> tuple[str, dict]:
    """The message id and its parameters for one pydantic error (for translating later)."""
    kind = error["type"]
    if kind == "value_error":
        # Our validators raise ValueError with a Japanese message id.
        return str(error["ctx"]["error"]), {}
    template = _PYDANTIC_MESSAGES.get(kind, "入力内容を確認してください")
    return template, {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, str))}


def message_for(error: dict) -> str:
    """A translated message for one pydantic error."""
    message, params = message_id(error)
    return _(message, **params)


def errors_of(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "__all__"
        out.setdefault(field, message_for(error))
    return out


def parse_form(model: type[BaseModel], data: dict[str, str]):
    """Validate ``data`` into ``model``; return (instance or None, {field: message}).

    Blank optional fields become the model default; dates accept 和暦.
    """
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, field in model.model_fields.items():
        if name not in data:
            continue
        raw = data[name]
        if isinstance(raw, str):
            raw = raw.strip()
        if raw == "" and not field.is_required():
            # Explicitly set, so that clearing a field on an edit form clears it.
            values[name] = field.get_default(call_default_factory=True)
            continue
        if _is_date_field(field.annotation) and isinstance(raw, str) and raw:
            try:
                raw = parse_date(raw)
            except WarekiError as exc:
                errors[name] = wareki_message(exc.code)
                continue
        values[name] = raw
    try:
        instance = model.model_validate(values)
    except ValidationError as exc:
        errors = errors_of(exc) | errors
        return None, errors
    if errors:
        return None, errors
    return instance, {}
