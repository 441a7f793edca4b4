"""At most so many requests inside the app at once; the rest wait their turn without a thread.

Why: FastAPI runs each sync dependency and the route in the thread pool (40 threads), hop by hop.
A request that has queried in one hop holds its pooled connection while it waits for a thread for
the next. With more requests in flight than pool connections plus threads, every thread could sit
in the pool's checkout waiting for a connection held by a request waiting for a thread: nothing
moved until the pool timeout (30 s), then 500s. It happened at 60 concurrent scans on SQLite
(pool 15 then). Admitting fewer requests than the pool has connections makes the wait impossible:
a request waits here, on the event loop, holding nothing. docs/decisions.md, "Scale".
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.config import get_settings


def admitted_at_once() -> int:
    """Three quarters of the pool: the rest serves work outside requests (print batches, imports)."""
    settings = get_settings()
    return max(1, (settings.db_pool_size + settings.db_max_overflow) * 3 // 4)


class Admission:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limit = admitted_at_once()
        self._slots: asyncio.Semaphore | None = None  # made on the server's event loop, at first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
