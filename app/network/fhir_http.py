"""What every FHIR route shares: the media type, OperationOutcome errors, the calling client, Bundles."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import ratelimit, responses
from app.core.deps import SessionDep, bearer_token
from app.core.errors import DomainError, Forbidden
from app.network import clients
from app.network import resources as fhir
from app.network.clients import Caller

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir/r4"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def outcome(status: int, message: str, code: str = "processing", headers: dict | None = None) -> FhirResponse:
    return FhirResponse(fhir.operation_outcome(status, message, code), status_code=status, headers=headers)


class Unauthorized(DomainError):
    status_code = 401


_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    422: "invalid",
    503: "transient",
}


class FhirRoute(APIRoute):
    """Turns every error of a FHIR route into an OperationOutcome with the right status."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except DomainError as exc:
                status = exc.status_code
                headers = getattr(exc, "headers", None) or (
                    {"WWW-Authenticate": 'Bearer realm="fhir"'} if status == 401 else None
                )
                return outcome(status, exc.translated(), _CODES.get(status, "processing"), headers)
            except RequestValidationError as exc:
                return outcome(
                    400, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())[:500], "invalid"
                )
            except StarletteHTTPException as exc:
                return http_error(exc)

        return route


def http_error(exc: StarletteHTTPException) -> FhirResponse:
    """An HTTP error (no such route or method under /fhir/r4 included) as an OperationOutcome."""
    return outcome(
        exc.status_code, str(exc.detail), _CODES.get(exc.status_code, "processing"), getattr(exc, "headers", None)
    )


def fhir_router() -> APIRouter:
    """A router of FHIR routes under ``PREFIX``: FHIR JSON, and an OperationOutcome for every error it declares."""
    return APIRouter(prefix=PREFIX, tags=["fhir"], route_class=FhirRoute, responses=responses.fhir_errors())


OPTS = dict(response_class=FhirResponse, responses={200: {"content": {FHIR_JSON: {}}}})


def current_caller(request: Request, session: SessionDep) -> Caller:
    """The institution's system behind the bearer token (OAuth2 client credentials)."""
    token = bearer_token(request)
    caller = clients.caller_for(session=session, token=token) if token else None
    if caller is None:
        raise Unauthorized("有効なアクセストークンが必要です（POST /fhir/r4/auth/token、client_credentials）")
    request.state.fhir_caller = caller
    # Per client, not per token: a client that asks for new tokens does not get a new allowance.
    ratelimit.hit("fhir", f"client:{caller.client.client_id}")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def needs(caller: Caller, resource_type: str, access: str) -> None:
    if not caller.may(resource_type, access):
        raise Forbidden(
            "このクライアントには %(type)s の%(access)s権限がありません",
            type=resource_type,
            access="読み取り" if access == "read" else "書き込み",
        )


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def searchset(request: Request, resources: list[dict]) -> dict:
    base = base_url(request)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
