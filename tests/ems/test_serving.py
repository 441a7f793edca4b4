"""Serving /ems/: content types, caching, the service worker and its explicit CSP."""

from __future__ import annotations

import json
import re

from app.core.headers import CSP_DEFAULT
from app.ems import views as ems


def test_app_shell_is_served_with_its_own_csp(client):
    page = client.get("/ems/")
    assert page.status_code == 200 and '<html lang="ja">' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "connect-src 'self'" in csp and "worker-src 'self'" in csp
    assert (
        "manifest-src 'self'" in csp
        and "'unsafe-inline'" not in csp
        and "'unsafe-eval'" not in csp.replace("wasm-unsafe-eval", "")
    )
    assert page.headers["cache-control"] == "no-cache" and page.headers["etag"]
    # Everywhere else the strict default stays.
    assert client.get("/login").headers["content-security-policy"] == CSP_DEFAULT


def test_no_inline_script_or_style_in_the_shell(client):
    html = client.get("/ems/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html and " style=" not in html


def test_content_types(client):
    manifest = client.get("/ems/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert json.loads(manifest.text)["start_url"] == "/ems/"
    wasm = client.get("/ems/vendor/zxing-wasm-3.1.4/dist/reader/zxing_reader.wasm")
    assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    assert client.get("/ems/js/app.js").headers["content-type"].startswith("text/javascript")


def test_compressed_and_revalidated(client):
    response = client.get("/ems/js/credential.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    again = client.get("/ems/js/credential.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_service_worker_may_control_the_whole_origin(client):
    sw = client.get("/ems/sw.js")
    assert sw.headers["service-worker-allowed"] == "/" and sw.headers["cache-control"] == "no-cache"
    assert sw.headers["content-type"].startswith("text/javascript")
    first_line, source = sw.text.split("\n", 1)
    build = json.loads(first_line.removeprefix("const BUILD = "))
    assert re.fullmatch(r"[0-9a-f]{16}", build["version"])
    assert {
        "/ems/",
        "/ems/index.html",
        "/ems/js/app.js",
        "/ems/js/credential.js",
        "/ems/vendor/zxing-wasm-3.1.4/dist/reader/zxing_reader.wasm",
        "/ems/manifest.webmanifest",
    } <= set(build["shell"])
    assert not [url for url in build["shell"] if "/test/" in url or url.endswith((".md", "LICENSE", "sw.js"))]
    assert build["trust"] == ["/.well-known/lifeline/keys.json", "/.well-known/lifeline/revocations.json"]
    assert "importScripts('/ems/js/offline-store.js')" in source


def test_every_shell_file_is_served(client):
    for rel in ems.shell_files():
        assert client.get(f"/ems/{rel.as_posix()}").status_code == 200, rel


def test_no_cdn_anywhere_in_the_app():
    """Our own files load nothing from elsewhere (the CSP's connect-src/script-src 'self' enforces it at run time)."""
    own = [
        *ems.EMS_DIR.joinpath("js").glob("*.js"),
        ems.EMS_DIR / "sw.js",
        ems.EMS_DIR / "index.html",
        ems.EMS_DIR / "manifest.webmanifest",
        ems.EMS_DIR / "css" / "app.css",
    ]
    for path in own:
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path
    # The vendored zxing-wasm defaults to a CDN for its .wasm; the worker points it at our copy.
    worker = (ems.EMS_DIR / "js" / "decoder-worker.js").read_text()
    assert "locateFile" in worker and "/ems/vendor/zxing-wasm-3.1.4/dist/reader/" in worker


def _dictionary(language: str) -> set[str]:
    source = (ems.EMS_DIR / "js" / "i18n.js").read_text(encoding="utf-8")
    block = re.search(rf"\n  {language}: \{{\n(.*?)\n  \}}", source, re.S).group(1)
    return set(re.findall(r"^\s+'([\w.]+)':", block, re.M))


def test_every_app_text_has_japanese_and_english():
    ja, en = _dictionary("ja"), _dictionary("en")
    assert len(ja) > 100 and ja == en
    used = set()
    for path in [ems.EMS_DIR / "index.html", *ems.EMS_DIR.joinpath("js").glob("*.js")]:
        if path.name == "i18n.js":
            continue
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'data-i18n(?:-placeholder)?="([\w.]+)"', text))
        used |= set(re.findall(r"\bt\('([\w.]+)'", text))
    assert used and used <= ja, used - ja


def test_crew_messages_match_the_verifier():
    """The status texts the app shows are the verifier's crew messages (docs/card-format.md)."""
    from app.cards.credential import CREW_MESSAGES_JA

    source = (ems.EMS_DIR / "js" / "i18n.js").read_text(encoding="utf-8")
    for status, message in CREW_MESSAGES_JA.items():
        assert f"'status.{status}': '{message}'" in source
