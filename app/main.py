"""The FastAPI application factory."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import admission, apidocs, csrf_multipart, headers, i18n, logs, ratelimit, responses
from app.core.config import get_settings
from app.core.deps import NotAuthenticated, PasswordChangeRequired
from app.core.errors import DomainError
from app.core.forms import message_for
from app.core.templating import render
from app.network import fhir_http

STATIC_DIR = Path(__file__).parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/fhir/", "/.well-known/")) or "application/json" in request.headers.get("accept", "")


async def _csrf_failed(scope, send, message_id):
    body = i18n.gettext("送信を受け付けられませんでした（セキュリティ確認の期限切れ）。ページを再読み込みしてから、もう一度お試しください。")
    await send({"type": "http.response.start", "status": 403, "headers": [[b"content-type", b"text/plain; charset=utf-8"]]})
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
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        message = i18n.gettext("ページが見つかりません") if exc.status_code == 404 else str(exc.detail)
        return render(request, "error.html", status_code=exc.status_code, message=message)


def _install_middleware(app: FastAPI) -> None:
    settings = get_settings()
    # Innermost: no more requests in the app than the database pool can serve (app.core.admission).
    app.add_middleware(admission.Admission)
    # The language for the request and the security headers of its answer.
    app.add_middleware(headers.LanguageAndHeaders)
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


def routers() -> list[APIRouter]:
    """Every router of the service, in inclusion order (also walked by the authorization test)."""
    from app.audit import admin_views as audit_admin_views
    from app.audit import review_views as audit_review_views
    from app.auth import account as auth_account
    from app.auth import admin_views as auth_admin_views
    from app.auth import router as auth_router
    from app.auth import second_step as auth_second_step
    from app.cards import router as cards_router
    from app.cards import views as card_views
    from app.core import health
    from app.devices import router as devices_router
    from app.devices import views as device_views
    from app.directory import router as directory_router
    from app.directory import views as directory_views
    from app.ems import serving as ems
    from app.households import router as households_router
    from app.households import views as household_views
    from app.imports import views as import_views
    from app.network import admin_views as network_admin_views
    from app.network import directory_api as fhir_directory
    from app.network import discovery as fhir_discovery
    from app.network import ems_api as network_ems_api
    from app.network import hospital_views
    from app.network import router as fhir_router
    from app.persons import doctor_views as person_doctor_views
    from app.persons import router as persons_router
    from app.persons import views as person_views
    from app.printing import views as print_views
    from app.residents import documents_views as resident_documents
    from app.residents import staff_views as resident_staff_views
    from app.residents import start_views as resident_start
    from app.residents import views as resident_views
    from app.scans import router as scans_router

    modules = (
        # The crew's scan first: FastAPI tries the routes in order, a few microseconds each, and
        # this is the request someone waits for at the scene (benchmarks/scale.py).
        scans_router,
        health, auth_router, auth_second_step, auth_account,
        # JSON API
        households_router, persons_router, cards_router, devices_router, directory_router, network_ems_api,
        # staff and admin web UI
        household_views, person_views, card_views, directory_views, import_views, print_views, device_views,
        auth_admin_views, network_admin_views, resident_staff_views,
        # EMS app, residents (before the audit routers: /me/ is the household view), doctors, hospitals
        ems, resident_start, resident_views, resident_documents, person_doctor_views, hospital_views,
        # FHIR
        fhir_discovery, fhir_router, fhir_directory,
    )
    return ([module.router for module in modules] + [cards_router.staff_api]
            + list(audit_review_views.routers) + list(audit_admin_views.routers))


def create_app(*, run_migrations: bool = True) -> FastAPI:
    """Build the application; migrations run on start unless the caller already did."""
    if run_migrations:
        from app.core import bootstrap

        bootstrap.prepare_database()
    app = FastAPI(
        title="Tone Lifeline",
        description="利根保健医療圏 救急医療情報システム — registry, cards, EMS and regional network API",
        version="0.1.0",
        # Swagger UI is served by app.core.apidocs with its own CSP; ReDoc would need inline styles.
        docs_url=None, redoc_url=None,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in routers():
        # Every API route may answer the shared errors; declared so the published schema is true (tests/fuzz).
        app.include_router(router, responses=responses.fhir_errors() if router.prefix.startswith("/fhir/") else responses.api_errors())
    app.include_router(apidocs.router)
    from app.ems import serving as ems

    # After the routers, so that /ems/sw.js is the generated service worker.
    app.mount("/ems", ems.static_app(), name="ems")
    _install_handlers(app)
    _install_middleware(app)
    return app
