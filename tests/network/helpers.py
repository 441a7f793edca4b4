"""Checks shared by the FHIR tests."""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json"


def valid(response, status: int = 200) -> dict:
    """The body, after checking the status, the media type and that fhir.resources (R4B) accepts it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    if body["resourceType"] == "Bundle":
        for entry in body.get("entry", []):
            get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return body
