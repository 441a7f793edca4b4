"""Request rate limits with the `limits` library: a dependency per class of endpoint.

Each limit is a setting (``LIFELINE_RATE_LIMIT_*``, e.g. "10/minute;30/hour") counted in a moving
window per key (client address, user name typed, network client). A key known only after a
dependency's own checks (for scans, the enrolled device the crew session is bound to) is counted by
that dependency calling ``hit``. The counters live in ``LIFELINE_RATE_LIMIT_STORAGE`` (memory:// by
default: per process, so several workers need a shared store such as redis://). A refused request
is a 429 with Retry-After: an HTML page for browsers, a JSON problem (RFC 9457) for the API, an
OperationOutcome under /fhir/r4 (its route class).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache

from fastapi import Request
from fastapi.responses import JSONResponse
from limits import parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.core.config import get_settings
from app.core.errors import DomainError

Key = Callable[[Request], Awaitable[str]]
PROBLEM_JSON = "application/problem+json"


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "操作が多すぎます。%(seconds)s 秒ほど待ってから、もう一度お試しください。", seconds=retry_after
        )
        self.headers = {"Retry-After": str(retry_after)}


@lru_cache
def _storage(uri: str) -> Storage:
    return storage_from_string(uri)


def _limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(_storage(get_settings().rate_limit_storage))


def reset() -> None:
    """Forget every counter (tests; an operator after a false alarm can restart instead)."""
    _storage(get_settings().rate_limit_storage).reset()


def _digest(value: str) -> str:
    # Tokens and typed names never sit in the (possibly shared) counter store as they are.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def hit(setting: str, key: str) -> None:
    """Count one request of ``key`` against ``settings.rate_limit_<setting>``; raise RateLimited when over."""
    limiter = _limiter()
    for item in parse_many(getattr(get_settings(), f"rate_limit_{setting}")):
        if not limiter.hit(item, setting, key):
            reset_at = limiter.get_window_stats(item, setting, key).reset_time
            raise RateLimited(max(1, math.ceil(reset_at - time.time())))


async def client_address(request: Request) -> str:
    # Behind a reverse proxy this is the forwarded address (uvicorn --forwarded-allow-ips, docs/operations.md).
    return request.client.host if request.client else "-"


def form_field(name: str) -> Key:
    """A typed form field (the user name), so one account is not tried from many addresses at once."""

    async def _key(request: Request) -> str:
        if "form" not in request.headers.get("content-type", ""):
            return ""
        try:
            value = (await request.form()).get(name)
        except Exception:  # a malformed body is the route's to refuse with a clear message
            return ""
        return _digest(value.strip().casefold()) if isinstance(value, str) and value.strip() else ""

    return _key


def rate_limit(*limits: tuple[str, Key]):
    """A dependency counting the request under each ``(setting, key)``; an empty key is not counted."""

    async def _check(request: Request) -> None:
        for setting, key in limits:
            if value := await key(request):
                hit(setting, value)

    return _check


def problem(request: Request, exc: RateLimited) -> JSONResponse:
    """The API's answer: a JSON problem whose ``detail`` is the translated message, as other errors have."""
    body = {"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": exc.translated()}
    return JSONResponse(body, status_code=429, headers=exc.headers, media_type=PROBLEM_JSON)


# The limits of the classes of endpoint (issue 9); routes add one with ``dependencies=[Depends(...)]``.
sign_in = rate_limit(("sign_in", client_address), ("sign_in_user", form_field("username")))
code = rate_limit(("code", client_address))
card_page = rate_limit(("card_page", client_address))
fhir_token = rate_limit(("fhir", client_address))
