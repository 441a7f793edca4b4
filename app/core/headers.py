"""Every answer's language and security headers, as plain ASGI middleware.

Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the rest
of the app in a task of its own with memory streams between them, a cost every request (every
scan) paid for what is a few header lines here.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import i18n
from app.core.config import get_settings

CSP_DEFAULT = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=63072000; includeSubDomains"
NO_STORE_PREFIXES = ("/staff", "/admin", "/api/")


def content_security_policy(path: str, policies: tuple[tuple[str, str], ...] = ()) -> str:
    """The default policy, or the stated policy of a prefix that needs more (``policies``: (prefix, policy) pairs)."""
    return next((policy for prefix, policy in policies if path.startswith(prefix)), CSP_DEFAULT)


class LanguageAndHeaders:
    """Sets the UI language for the request (``lang`` query, then cookie) and the security headers
    of its answer, leaving alone any a route set itself.

    ``policies``: the content security policy of each prefix that needs more than the default,
    handed over by the application (the EMS app compiles WebAssembly).
    """

    def __init__(self, app: ASGIApp, policies: tuple[tuple[str, str], ...] = ()) -> None:
        self.app = app
        self.policies = policies
        self.settings = get_settings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        path = scope["path"]
        lang = i18n.pick_language(
            connection.cookies.get("lang"), connection.query_params.get("lang"), self.settings.default_language
        )
        # Only over TLS: a browser told this on plain http (development) would refuse the server for two years.
        hsts = self.settings.sends_hsts or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Content-Security-Policy", content_security_policy(path, self.policies))
                if hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if path.startswith(NO_STORE_PREFIXES):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        token = i18n.current_language.set(lang)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n.current_language.reset(token)
