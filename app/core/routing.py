"""One router for a package whose routes live in several modules (a ``views/`` package)."""

from __future__ import annotations

from fastapi import APIRouter


def combine(*routers: APIRouter) -> APIRouter:
    """A router holding the routes of ``routers``, in order, each as its module declared it.

    The routes are taken as they are (their paths, dependencies and responses are complete
    once declared), not wrapped by ``include_router``: the app and the authorization test
    then see every route of the package directly.
    """
    combined = APIRouter()
    for router in routers:
        combined.routes.extend(router.routes)
    return combined
