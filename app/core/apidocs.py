"""``/docs`` (Swagger UI) under a Content-Security-Policy without 'unsafe-inline'.

FastAPI's page starts Swagger UI with one inline script; the UI itself is vendored from npm
(app/static/vendor/swagger-ui-dist-*, no CDN). Instead of relaxing the site policy, this page
allows the inline scripts by their SHA-256 hash, computed from the HTML FastAPI generates, so a
FastAPI upgrade that changes the script keeps working. The page holds no data; the schema it
shows is public (/openapi.json).
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


SWAGGER = "/static/vendor/swagger-ui-dist-5.35.0"


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in _INLINE_SCRIPT.findall(page.body)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url="/ems/icons/icon.svg",
    )
    return _with_policy(page)


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return _with_policy(get_swagger_ui_oauth2_redirect_html())
