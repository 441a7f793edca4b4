"""The EMS field app's files at ``/ems/`` and its service worker, built with the list of files to keep offline.

There is no build step: the service worker is served with a generated first line naming every
file of the app shell and a version hashed from their contents, so any change to the app makes
devices fetch the new shell, and nothing has to be listed by hand.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from app.core.config import ROOT_DIR

EMS_DIR = ROOT_DIR / "ems_pwa"
PREFIX = "/ems/"
# Served with the shell so that a scan verifies with no network (docs/card-format.md §4-5).
TRUST_URLS = ("/.well-known/lifeline/keys.json", "/.well-known/lifeline/revocations.json")
# Not part of the app on a device: tests, notes, licences (those stay in the repository).
_NOT_SHELL = ("js/test/", "sw.js")
_NOT_SHELL_SUFFIXES = (".md", ".d.ts", ".map")
_NOT_SHELL_NAMES = ("LICENSE", "LICENSE.txt", "NOTICE")

# zxing-wasm compiles WebAssembly ('wasm-unsafe-eval'); no inline script or style anywhere.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Revalidate every time (cheap with ETag); the service worker is the cache that works offline.
CACHE_CONTROL = "no-cache"

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")

router = APIRouter(include_in_schema=False)


def shell_files(root: Path = EMS_DIR) -> list[Path]:
    """Every file the device keeps for offline use, relative to ``root``, sorted."""
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if (
            path.is_file()
            and not rel.startswith(_NOT_SHELL)
            and not rel.endswith(_NOT_SHELL_SUFFIXES)
            and path.name not in _NOT_SHELL_NAMES
            and not path.name.startswith(".")
        ):
            files.append(Path(rel))
    return files


@lru_cache(maxsize=4)
def _built(stamp: tuple) -> bytes:
    digest = hashlib.sha256()
    shell = []
    for rel in shell_files():
        digest.update(rel.as_posix().encode() + b"\0" + (EMS_DIR / rel).read_bytes())
        shell.append(PREFIX + rel.as_posix())
    source = (EMS_DIR / "sw.js").read_bytes()
    digest.update(source)
    build = {"version": digest.hexdigest()[:16], "shell": [PREFIX] + shell, "trust": list(TRUST_URLS)}
    return b"const BUILD = " + json.dumps(build, separators=(",", ":")).encode() + b"\n" + source


def service_worker_source() -> bytes:
    """sw.js with its BUILD line (rebuilt when any app file changes)."""
    stamp = tuple((p.as_posix(), (EMS_DIR / p).stat().st_mtime_ns) for p in shell_files()) + (
        (EMS_DIR / "sw.js").stat().st_mtime_ns,
    )
    return _built(stamp)


@router.get("/ems/sw.js")
def service_worker() -> Response:
    """The service worker, allowed to control ``/`` so it can also open the app offline at ``/C/…`` (the QR's URL)."""
    return Response(
        service_worker_source(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": CACHE_CONTROL},
    )


class _EmsFiles(StaticFiles):
    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def static_app():
    """The mounted app: ems_pwa/ with index.html, gzip for everything compressible (first load ≤ 200 KB)."""
    return GZipMiddleware(_EmsFiles(directory=EMS_DIR, html=True), minimum_size=512)
