"""Discovery and authorization: the CapabilityStatement and the OAuth2 client-credentials token endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.audit import service as audit
from app.core import ratelimit
from app.core.clock import utcnow
from app.core.deps import EngineDep, SessionDep
from app.core.errors import AuthFailed
from app.directory import service as directory
from app.network import clients
from app.network import resources as fhir
from app.network.fhir_http import FHIR_JSON, OPTS, FhirResponse, base_url, fhir_router, outcome

router = fhir_router()

# --- discovery and authorization -------------------------------------------------------------

TYPES = (
    "Patient",
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "RelatedPerson",
    "CareTeam",
    "Consent",
    "Coverage",
    "AuditEvent",
    "Encounter",
)
SEARCH_PARAMS = {"Patient": ("_id", "identifier", "family", "given", "name", "birthdate")}
WRITABLE = ("AllergyIntolerance", "Condition", "MedicationStatement")
READ_BY_ID = (
    "Patient",
    "AllergyIntolerance",
    "Condition",
    "MedicationStatement",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "RelatedPerson",
    "CareTeam",
    "Coverage",
)


@router.get("/metadata", **OPTS)
def metadata(request: Request):
    """CapabilityStatement: what is supported and where to get a token (SMART oauth-uris)."""
    base = base_url(request)
    rest_resources = []
    for t in TYPES:
        interactions = (
            [{"code": "search-type"}]
            + ([{"code": "read"}] if t in READ_BY_ID else [])
            + ([{"code": "create"}] if t in WRITABLE else [])
        )
        params = SEARCH_PARAMS.get(
            t, ("patient",) if t not in ("Practitioner", "PractitionerRole", "Organization", "Encounter") else ()
        )
        if t == "Encounter":
            params = ("status", "service-provider")
        item = {
            "type": t,
            "interaction": interactions,
            "searchParam": [
                {
                    "name": p,
                    "type": "reference"
                    if p in ("patient", "service-provider")
                    else "token"
                    if p in ("_id", "identifier", "status")
                    else "date"
                    if p == "birthdate"
                    else "string",
                }
                for p in params
            ],
        }
        if t in (
            "Patient",
            "AllergyIntolerance",
            "Condition",
            "MedicationStatement",
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "Coverage",
        ):
            item["supportedProfile"] = [fhir.JP + f"JP_{t}"]
        if t == "Patient":
            item["operation"] = [
                {"name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"}
            ]
        rest_resources.append(item)
    return FhirResponse(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": fhir.instant(utcnow()),
            "publisher": "利根ライフライン（加須市）",
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": [FHIR_JSON, "json"],
            "software": {"name": "Tone Lifeline", "version": "0.1.0"},
            "implementation": {"description": "利根保健医療圏 救急医療情報（JP Core 準拠の救急サマリー）", "url": base},
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "docs/fhir.md: OAuth2 client credentials (HTTP Basic or form), bearer token, "
                        "scopes system/*.read system/*.write"
                    ),
                    "security": {
                        "extension": [
                            {
                                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                                "extension": [
                                    {"url": "token", "valueUri": f"{base}/auth/token"},
                                    {"url": "authorize", "valueUri": f"{base}/auth/authorize"},
                                ],
                            }
                        ],
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ],
                        "description": "OAuth2 client-credentials grant only; every read of patient data is audited",
                    },
                    "resource": rest_resources,
                }
            ],
        }
    )


def _client_credentials(request: Request, client_id: str, client_secret: str) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthFailed("クライアントIDまたはシークレットが違います") from None
    return client_id, client_secret


class OAuthError(BaseModel):
    error: str


_OAUTH_OR_OUTCOME = {
    "content": {
        "application/json": {"schema": OAuthError.model_json_schema()},
        FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}},
    }
}
# RFC 6749 errors ({"error": …}) for the grant itself; malformed input and the rate limit are OperationOutcomes.
TOKEN_RESPONSES = {
    400: {"description": "unsupported_grant_type, or malformed input", **_OAUTH_OR_OUTCOME},
    401: {"description": "invalid_client", **_OAUTH_OR_OUTCOME},
    429: {
        "description": "Too many requests (Retry-After)",
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
    },
}


@router.post("/auth/token", dependencies=[Depends(ratelimit.fhir_token)], responses=TOKEN_RESPONSES)
def token(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    grant_type: Annotated[str, Form(max_length=40)] = "",
    scope: Annotated[str, Form(max_length=400)] = "",
    client_id: Annotated[str, Form(max_length=100)] = "",
    client_secret: Annotated[str, Form(max_length=200)] = "",
):
    """OAuth2 client-credentials grant (RFC 6749 §4.4); credentials by HTTP Basic or in the form."""
    if grant_type != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    client_id, client_secret = _client_credentials(request, client_id, client_secret)
    ip = request.client.host if request.client else ""
    try:
        value, client = clients.issue_token(
            session=session,
            client_id=client_id,
            client_secret=client_secret,
            user_agent=request.headers.get("user-agent", ""),
        )
    except AuthFailed:
        audit.append(
            engine=engine,
            action="auth.login_failed",
            actor_username=client_id[:64],
            actor_role="network",
            purpose="fhir client_credentials",
            outcome="refused",
            ip=ip,
        )
        return JSONResponse(
            {"error": "invalid_client"}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="fhir"'}
        )
    audit.append(
        engine=engine,
        action="auth.login",
        actor_user_id=client.user_id,
        actor_username=client.client_id,
        actor_role="network",
        organisation=directory.get_institution(session=session, institution_id=client.institution_id).name,
        purpose="fhir client_credentials",
        ip=ip,
    )
    # The token always carries the client's registered scopes (RFC 6749 §3.3: the answer states them).
    return JSONResponse(
        {
            "access_token": value,
            "token_type": "bearer",
            "expires_in": clients.TOKEN_HOURS * 3600,
            "scope": client.scopes,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/auth/authorize", **OPTS)
def authorize():
    """Listed for SMART discovery; only the client-credentials grant is offered (no user sign-in here)."""
    return outcome(
        400, "この API はクライアントクレデンシャル（POST /fhir/r4/auth/token）だけに対応しています", "not-supported"
    )
