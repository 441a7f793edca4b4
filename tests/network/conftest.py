"""Network clients for the FHIR tests: an institution's system with a bearer token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from app.directory.models import Institution
from app.network import clients


@dataclass
class NetworkClient:
    http: TestClient
    client_id: str
    secret: str
    institution: Institution

    def get(self, path: str, **kw):
        return self.http.get(f"/fhir/r4/{path}", **kw)

    def post(self, path: str, body: dict):
        return self.http.post(f"/fhir/r4/{path}", json=body, headers={"Content-Type": "application/fhir+json"})


@pytest.fixture
def hospital(db):
    institution = Institution(
        name="見本総合病院（試験）",
        kind="hospital",
        phone="0480-00-9999",
        postal_code="347-0001",
        address="加須市見本町9-9",
    )
    db.add(institution)
    db.commit()
    return institution


@pytest.fixture
def network_client(app, db, hospital):
    """``network_client(institution=None, scopes=...)`` → a TestClient holding a bearer token of a new client."""
    made = []

    def _make(institution=None, scopes: str = clients.DEFAULT_SCOPES) -> NetworkClient:
        institution = institution or hospital
        client, secret = clients.create(session=db, institution_id=institution.id, created_by="テスト", scopes=scopes)
        http = TestClient(app, base_url="http://testserver")
        made.append(http)
        answer = http.post(
            "/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
        )
        assert answer.status_code == 200, answer.text
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return NetworkClient(http=http, client_id=client.client_id, secret=secret, institution=institution)

    yield _make
    for http in made:
        http.close()
