"""Security headers on representative pages, no inline script or style anywhere, CSRF on every unsafe route."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from app.auth import service as auth
from app.core.config import ROOT_DIR, get_settings
from tests.routes import all_routes

CSRF_REFUSED = "送信を受け付けられませんでした"
HSTS = "max-age=63072000; includeSubDomains"


@pytest.fixture
def pages(login, personas, app):
    """(name, response) for a staff page, the EMS app, a FHIR endpoint, an API answer and an error page."""
    staff = login(personas.staff)
    anonymous = TestClient(app, base_url="http://testserver")
    return {
        "staff page": staff.get("/staff/"),
        "EMS app": anonymous.get("/ems/"),
        "FHIR endpoint": anonymous.get("/fhir/r4/metadata"),
        "JSON API": staff.get("/api/v1/me"),
        "error page": staff.get("/staff/no-such-page"),
        "API docs": anonymous.get("/docs"),
    }


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_pages_answer_as_expected(pages):
    assert {name: r.status_code for name, r in pages.items()} == {
        "staff page": 200,
        "EMS app": 200,
        "FHIR endpoint": 200,
        "JSON API": 200,
        "error page": 404,
        "API docs": 200,
    }


def test_content_security_policy_has_no_unsafe_inline_and_forbids_framing(pages):
    for name, response in pages.items():
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy.replace("wasm-unsafe-eval", ""), name
        directives = _directives(policy)
        assert directives["frame-ancestors"] == ["'none'"], name
        assert directives["base-uri"] == ["'none'"], name
        assert "'self'" in directives["script-src"] and "*" not in directives["script-src"], name


def test_frame_options_and_nosniff_everywhere(pages):
    for name, response in pages.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["x-frame-options"] == "DENY", name


def test_api_docs_allow_only_their_own_inline_script_by_hash(pages):
    page = pages["API docs"]
    policy = _directives(page.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline, "Swagger UI starts with an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    # Swagger UI is vendored (no CDN): every file the page loads is our own.
    external = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert external and all(url.startswith("/") and not url.startswith("//") for url in external), external
    assert policy["script-src"][0] == "'self'" and "http" not in page.headers["content-security-policy"]


def test_no_hsts_over_plain_http_in_development(pages):
    assert not get_settings().sends_hsts
    for name, response in pages.items():
        assert "strict-transport-security" not in response.headers, name


def test_hsts_when_the_request_came_over_https(app, personas, db):
    token, _ = auth.start_session(session=db, user=personas.staff, kind="api")
    with TestClient(app, base_url="https://testserver") as https:
        for path in ("/login", "/ems/", "/fhir/r4/metadata", "/no-such-page"):
            assert https.get(path).headers["strict-transport-security"] == HSTS, path
        assert (
            https.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).headers["strict-transport-security"]
            == HSTS
        )


def test_hsts_when_settings_say_a_tls_proxy_is_in_front(app, monkeypatch):
    monkeypatch.setattr(get_settings(), "behind_tls", True)
    with TestClient(app, base_url="http://testserver") as client:
        assert client.get("/login").headers["strict-transport-security"] == HSTS


def test_hsts_follows_an_https_public_url_unless_told_otherwise(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "public_url", "https://ll.city.kazo.lg.jp")
    assert settings.sends_hsts
    monkeypatch.setattr(settings, "behind_tls", False)
    assert not settings.sends_hsts


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"\shx-on", re.I), "hx-on handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_and_the_ems_app_have_no_inline_script_or_style():
    files = [*(ROOT_DIR / "templates").rglob("*.html"), *(ROOT_DIR / "ems_pwa").glob("*.html")]
    assert len(files) > 20
    found = [
        f"{path.relative_to(ROOT_DIR)}: {what}"
        for path in files
        for pattern, what in INLINE
        if pattern.search(path.read_text())
    ]
    assert not found, found


def test_the_ems_app_sets_no_style_or_markup_from_script():
    scripts = [
        p for p in (ROOT_DIR / "ems_pwa" / "js").rglob("*.js") if "vendor" not in p.parts and "test" not in p.parts
    ]
    found = [
        p.name
        for p in scripts
        if re.search(r"\.innerHTML\s*=|setAttribute\(\s*['\"]style|\.style\.cssText", p.read_text())
    ]
    assert not found, found


# --- CSRF -----------------------------------------------------------------------------------------

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def test_every_unsafe_route_refuses_a_cookie_request_without_the_token(app, login, personas):
    """Signed in with a cookie, without the token (header or field): refused before the route runs."""
    staff = login(personas.staff)
    del staff.headers["x-csrftoken"]
    unsafe = [(m, p) for m, p in all_routes(app) if m in UNSAFE]
    assert len(unsafe) > 20
    for method, path in unsafe:
        url = re.sub(r"\{\w+\}", "1", path)
        for body in ({"data": {"x": "1"}}, {"json": {"x": 1}}):
            r = staff.request(method, url, **body)
            assert r.status_code == 403 and CSRF_REFUSED in r.text, f"{method} {url} {list(body)} → {r.status_code}"


def test_a_forged_token_is_refused(login, personas):
    staff = login(personas.staff)
    staff.headers["x-csrftoken"] = "forged"
    r = staff.post("/api/v1/households", json={"address_line": "見本町1-1"})
    assert r.status_code == 403 and CSRF_REFUSED in r.text


def test_bearer_requests_without_cookies_are_exempt_by_design(app, personas, db):
    """API clients hold no cookie a browser could send along, so there is nothing to forge."""
    token, _ = auth.start_session(session=db, user=personas.staff, kind="api")
    with TestClient(app, base_url="http://testserver") as api:
        r = api.post(
            "/api/v1/households",
            json={"address_line": "見本町2-2", "postal_code": "347-0000"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
        assert not api.cookies.get("lifeline_session")
        # ...and no CSRF token cookie either; a page does.
        assert "set-cookie" not in r.headers and "csrftoken" not in api.cookies
        assert "csrftoken" in api.get("/login").cookies


def test_sign_in_and_first_resident_sign_in_are_protected_even_without_cookies(app):
    """No login CSRF: another site cannot sign a browser into an account of its choosing."""
    with TestClient(app, base_url="http://testserver") as fresh:
        for path in ("/login", "/me/start"):
            r = fresh.post(path, data={"username": "x", "password": "y"})
            assert r.status_code == 403 and CSRF_REFUSED in r.text, path


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"username=\xff\xfe&csrftoken=1", "application/x-www-form-urlencoded"),
        (b"csrftoken=%E3%81%82", "application/x-www-form-urlencoded"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
        (b"a", "multipart/form-data"),
        (b"--x--\r\n", "multipart/form-data;boundary=x"),
    ],
)
def test_hostile_bodies_are_refused_not_crashed(app, body, content_type):
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        client.get("/login")
        r = client.post("/login", content=body, headers={"content-type": content_type})
        assert r.status_code == 403 and CSRF_REFUSED in r.text
        r = client.post(
            "/login",
            content=b"a=1",
            headers={"content-type": "application/x-www-form-urlencoded", "x-csrftoken": "é".encode("latin-1")},
        )
        assert r.status_code == 403
