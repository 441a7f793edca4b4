"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import bootstrap
from app.auth.deps import NotAuthenticated, PasswordChangeRequired
from app.core import admission, apidocs, csrf_multipart, headers, i18n, logs, ratelimit, responses
from app.core.config import get_settings
from app.core.errors import DomainError
from app.core.forms import message_for
from app.core.templating import render
from app.ems import views as ems
from app.network import fhir_http

STATIC_DIR = Path(__file__).parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(
        ("/api/", "/fhir/", "/.well-known/")
    ) or "application/json" in request.headers.get("accept", "")


async def _csrf_failed(scope, send, message_id):
    body = i18n.gettext(
        "送信を受け付けられませんでした（セキュリティ確認の期限切れ）。ページを再読み込みしてから、もう一度お試しください。"
    )
    await send(
        {"type": "http.response.start", "status": 403, "headers": [[b"content-type", b"text/plain; charset=utf-8"]]}
    )
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated):
        if _wants_json(request):
            return JSONResponse({"detail": exc.translated()}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change_required(request: Request, exc: PasswordChangeRequired):
        if _wants_json(request):
            return JSONResponse({"detail": exc.translated(), "code": exc.code}, status_code=403)
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(ratelimit.RateLimited)
    async def _rate_limited(request: Request, exc: ratelimit.RateLimited):
        if _wants_json(request):
            return ratelimit.problem(request, exc)
        page = render(request, "error.html", status_code=429, message=exc.translated())
        page.headers.update(exc.headers)
        return page

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError):
        if _wants_json(request):
            return JSONResponse({"detail": exc.translated()}, status_code=exc.status_code)
        return render(request, "error.html", status_code=exc.status_code, message=exc.translated())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": message_for(e), "type": e["type"]} for e in exc.errors()]
        if _wants_json(request):
            return JSONResponse({"detail": errors}, status_code=422)
        return render(request, "error.html", status_code=422, message="; ".join(e["msg"] for e in errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if request.url.path == fhir_http.PREFIX or request.url.path.startswith(fhir_http.PREFIX + "/"):
            return fhir_http.http_error(exc)  # FHIR clients expect an OperationOutcome, also for an unknown path
        if _wants_json(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
            )
        message = i18n.gettext("ページが見つかりません") if exc.status_code == 404 else str(exc.detail)
        return render(request, "error.html", status_code=exc.status_code, message=message)


def _install_middleware(app: FastAPI) -> None:
    settings = get_settings()
    # Innermost: no more requests in the app than the database pool can serve (app.core.admission).
    app.add_middleware(admission.Admission)
    # The language for the request and the security headers of its answer.
    app.add_middleware(headers.LanguageAndHeaders, policies=((ems.PREFIX, ems.CSP),))
    # Outermost: CSRF on every unsafe request that carries cookies (double-submit, signed).
    csrf_multipart.install()
    app.add_middleware(
        asgi_csrf,
        signing_secret=settings.signing_secret(),
        cookie_secure=settings.cookies_secure,
        cookie_samesite="Strict",
        always_protect={"/login", "/me/start"},  # both start a session: no login CSRF even without cookies
        send_csrf_failed=_csrf_failed,
    )
    # Outermost of all: the request id covers every line, and the access line every answer (app.core.logs).
    logs.install(app)


# The packages whose ``router`` (JSON API, ``router.py``) and ``views`` (HTML, ``views.py`` or a
# ``views/`` package) the app serves, in the order FastAPI tries them. The crew's scan first:
# FastAPI tries the routes in order, a few microseconds each, and this is the request someone
# waits for at the scene (benchmarks/scale.py). Residents before reviews: /me/ is the household view.
PACKAGES = (
    "scans",
    "operations",
    "auth",
    "households",
    "persons",
    "cards",
    "devices",
    "directory",
    "imports",
    "printing",
    "ems",
    "residents",
    "reviews",
    "reports",
    "network",
)


def routers() -> list[APIRouter]:
    """Every router of the service, in inclusion order (also walked by the authorization test)."""
    found = []
    for package in PACKAGES:
        for shape in ("router", "views"):
            name = f"app.{package}.{shape}"
            if importlib.util.find_spec(name) is not None:
                found.append(importlib.import_module(name).router)
    return found


def create_app(*, run_migrations: bool = True) -> FastAPI:
    """Build the application; migrations run on start unless the caller already did."""
    if run_migrations:
        bootstrap.prepare_database()
    app = FastAPI(
        title="Tone Lifeline",
        description="利根保健医療圏 救急医療情報システム — registry, cards, EMS and regional network API",
        version="0.1.0",
        # Swagger UI is served by app.core.apidocs with its own CSP; ReDoc would need inline styles.
        docs_url=None,
        redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers():
        # Every API route may answer the shared errors; declared so the published schema is true (tests/fuzz).
        # FHIR routes declare their own (an OperationOutcome each), which take precedence.
        app.include_router(router, responses=responses.api_errors())
    app.include_router(apidocs.router)
    # After the routers, so that /ems/sw.js is the generated service worker.
    app.mount("/ems", ems.static_app(), name="ems")
    _install_handlers(app)
    _install_middleware(app)
    return app
