"""The routes of the service, for the tests that walk all of them (authorization, CSRF, audit coverage)."""

from __future__ import annotations

from starlette.routing import Route


def all_routes(app) -> list[tuple[str, str]]:
    """The app's own routes (docs) plus every route of every router it includes."""
    from app.main import routers

    routes = [r for r in app.routes if isinstance(r, Route)] + [r for router in routers() for r in router.routes]
    out = sorted({(m, r.path) for r in routes for m in (r.methods or ()) if m != "HEAD"})
    assert len(out) > 30, "route discovery found too few routes"
    return out
