"""First sign-in with the letter's access code (public): code + date of birth → own account."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.audit import service as audit
from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE
from app.auth.models import Role
from app.core import ratelimit
from app.core.config import get_settings
from app.core.deps import EngineDep, FormData, SessionDep
from app.core.errors import AuthFailed, DomainError, Invalid
from app.core.forms import wareki_message
from app.core.templating import render
from app.core.wareki import WarekiError, parse_date
from app.residents import signin

router = APIRouter(prefix="/me", include_in_schema=False)
FIELDS = ("code", "birth_date", "username", "display_name")


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _page(request: Request, *, values=None, errors=None, status_code=200):
    return render(request, "resident/start.html", status_code=status_code, values=values or {}, errors=errors or {})


def _audit(engine, request: Request, *, action: str, household_id: int | None, outcome: str, user=None) -> None:
    audit.append(
        engine=engine,
        action=action,
        actor_user_id=user.id if user else None,
        actor_username=user.username if user else "",
        actor_role=Role.resident.value,
        household_id=household_id,
        purpose="access code",
        outcome=outcome,
        ip=_ip(request),
        device=request.headers.get("user-agent", "")[:100],
    )


@router.get("/start")
def start_page(request: Request):
    return _page(request)


@router.post("/start", dependencies=[Depends(ratelimit.code)])
def start(request: Request, session: SessionDep, engine: EngineDep, form: FormData):
    values = {k: form.get(k, "").strip()[:200] for k in FIELDS}
    password, password2 = form.get("password", "")[:1000], form.get("password2", "")[:1000]
    errors: dict[str, str] = {}
    if not values["code"]:
        errors["code"] = Invalid("お手紙に書いてあるコードを入れてください").translated()
    try:
        birth_date = parse_date(values["birth_date"])
    except WarekiError as exc:
        birth_date, errors["birth_date"] = None, wareki_message(exc.code)
    if errors:
        return _page(request, values=values, errors=errors, status_code=422)
    try:
        household_id = signin.check_code(session=session, ip=_ip(request), code=values["code"], birth_date=birth_date)
    except AuthFailed as exc:
        _audit(engine, request, action="auth.code_failed", household_id=None, outcome="refused")
        return _page(request, values=values, errors={"__all__": exc.translated()}, status_code=exc.status_code)
    try:
        signin.check_account(
            session=session,
            username=values["username"],
            password=password,
            password2=password2,
            display_name=values["display_name"],
        )
        user = signin.create_account(
            session=session,
            household_id=household_id,
            username=values["username"],
            password=password,
            display_name=values["display_name"],
        )
    except DomainError as exc:
        session.rollback()
        field = getattr(exc, "field", None) or ("username" if exc.status_code == 409 else "__all__")
        return _page(request, values=values, errors={field: exc.translated()}, status_code=422)
    _audit(engine, request, action="auth.code_used", household_id=household_id, outcome="ok", user=user)
    token, _record = auth.start_session(
        session=session, user=user, kind="web", user_agent=request.headers.get("user-agent", "")
    )
    response = RedirectResponse("/me/?welcome=1", status_code=303)
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookies_secure or request.url.scheme == "https",
        samesite="lax",
        path="/",
    )
    return response
