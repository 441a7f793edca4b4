"""The error answers every API route can give, declared once for the OpenAPI schema.

The handlers in ``app.main`` (and ``FhirRoute`` under /fhir/r4) decide these bodies; declaring them here
keeps the published schema true (schemathesis checks every answer against it, tests/fuzz).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.core.ratelimit import PROBLEM_JSON


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """``detail``: the translated message, or one entry per invalid field (422)."""

    detail: str | list[ValidationIssue]


class Problem(BaseModel):
    """RFC 9457 problem (rate limit): ``detail`` is the translated message."""

    type: str
    title: str
    status: int
    detail: str


class OperationOutcomeIssue(BaseModel):
    severity: str
    code: str
    diagnostics: str | None = None


class OperationOutcome(BaseModel):
    resourceType: str
    issue: list[OperationOutcomeIssue]


_WHY = {
    400: "Malformed request",
    401: "Not signed in, or the token is not valid",
    403: "Not allowed for this account",
    404: "Not found",
    409: "Conflict (changed by someone else, or already exists)",
    422: "Invalid input (translated message per field)",
    503: "The access record could not be written, so nothing is shown",
}


def api_errors() -> dict[int | str, dict[str, Any]]:
    """JSON API routes: ``{"detail": …}``, and a JSON problem for 429."""
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorBody, "description": why} for code, why in _WHY.items()
    }
    errors[429] = {
        "description": "Too many requests (Retry-After says when to try again)",
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }
    return errors


def fhir_errors() -> dict[int | str, dict[str, Any]]:
    """FHIR routes (media type application/fhir+json): every error is an OperationOutcome (``FhirRoute``)."""
    return {
        code: {"model": OperationOutcome, "description": why}
        for code, why in {**_WHY, 429: "Too many requests (Retry-After)"}.items()
    }
