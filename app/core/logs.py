"""Logging in one place: JSON or text lines, a request id on every line, no personal data.

Access lines are written here, not by uvicorn: uvicorn logs the concrete path and query string,
and ours would carry a card's signed payload (``/C/…``), names typed into search boxes, resident
codes and tokens. We log the *route template* (``/C/{payload}``, ``/staff/persons/{person_id}``)
and never the query string, so an access log can be shipped to a log service without becoming
a copy of the register. uvicorn's own access logger is silenced by the same configuration.
"""

from __future__ import annotations

import logging
import logging.config
import re
import time
import uuid
from contextvars import ContextVar

from starlette.middleware import Middleware
from starlette.routing import Match, Mount

from app.core.config import Settings, get_settings

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
ACCESS_LOGGER = "lifeline.access"
# An id from the reverse proxy (nginx: proxy_set_header X-Request-ID $request_id) is kept so
# both logs can be joined; anything else is replaced, so a client cannot inject text here.
_GOOD_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id"]


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.core import RESERVED_ATTRS
    from pythonjsonlogger.json import JsonFormatter

    # uvicorn adds "color_message", the same text with terminal colour codes: not for a log service.
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        json_ensure_ascii=False,
    )


def log_format(settings: Settings) -> str:
    return settings.log_format or ("json" if settings.environment == "production" else "text")


def config(settings: Settings | None = None) -> dict:
    """The ``logging.config.dictConfig`` for the service; also given to uvicorn as its ``log_config``."""
    settings = settings or get_settings()
    if log_format(settings) == "json":
        formatter = {"()": "app.core.logs.json_formatter"}
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.core.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": settings.log_level},
        "loggers": {
            # uvicorn's loggers have handlers of their own by default; route them through ours.
            "uvicorn": {"handlers": [], "propagate": True, "level": settings.log_level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": settings.log_level},
            # Concrete paths and query strings: never (see the module docstring).
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


def configure(settings: Settings | None = None) -> None:
    logging.config.dictConfig(config(settings))


_NOTE = "lifeline.route"  # scope key: a dict shared by every copy of the scope below AccessLog


def install(app) -> None:
    """Request ids and access lines for ``app``: call after the app's other middleware is added."""
    app.user_middleware.append(Middleware(_NoteRoute))  # innermost: sees the scope the router fills in
    app.add_middleware(AccessLog, routes=app.router.routes)  # outermost: covers every answer


class _NoteRoute:
    """Copies the matched route's pattern to the note AccessLog left in the scope.

    Needed because middleware in between (asgi-csrf) passes a *copy* of the scope on, so the
    router's ``scope["route"]`` never reaches the outer middleware; the note dict is shared.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            if _NOTE in scope and getattr(route, "path", None):
                scope[_NOTE]["route"] = route.path


def route_template(routes, scope) -> str:
    """The matched route's pattern, never the concrete path (which may hold a card payload)."""
    noted = scope.get(_NOTE, {}).get("route")
    if noted:
        return noted
    for route in routes:  # a mounted app (static files, the EMS app): its mount point only
        if isinstance(route, Mount) and route.matches(scope)[0] == Match.FULL:
            return route.path + "/{path}"
    return "<no route>"  # a 404: the path could be anything a client typed


class AccessLog:
    """ASGI middleware: a request id per request (``X-Request-ID``) and one access line per request."""

    def __init__(self, app, *, routes):
        self.app, self.routes = app, routes
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _GOOD_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        scope = {**scope, _NOTE: {}}
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(self.routes, scope)
            client = (scope.get("client") or ("", 0))[0]
            self.log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "client": client,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            REQUEST_ID.reset(token)
