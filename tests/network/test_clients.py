"""Registering network clients: admin UI (secret shown once), CLI-equivalent service, disabling."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.network import clients
from app.network.models import NetworkClient


def test_admin_registers_a_client_and_sees_the_secret_once(login, personas, hospital, client, db):
    admin = login(personas.admin)
    page = admin.post("/admin/network", data={"institution_id": str(hospital.id), "scopes": "system/*.read"})
    assert page.status_code == 201 and "client-secret" in page.text
    row = db.exec(select(NetworkClient).where(NetworkClient.institution_id == hospital.id)).one()
    secret = page.text.split('class="client-secret">', 1)[1].split("<", 1)[0]
    assert row.scopes == "system/*.read" and secret not in row.secret_hash
    assert "client-secret" not in admin.get("/admin/network").text  # never shown again
    token = client.post("/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, auth=(row.client_id, secret))
    assert token.status_code == 200
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "network.add_client")).first() is not None


def test_disabling_ends_the_tokens_at_once(network_client, login, personas, db):
    nc = network_client()
    assert nc.get("Organization").status_code == 200
    assert (
        login(personas.admin)
        .post("/admin/network/disable", data={"client_id": nc.client_id}, follow_redirects=False)
        .status_code
        == 303
    )
    assert nc.get("Organization").status_code == 401
    again = nc.http.post(
        "/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, auth=(nc.client_id, nc.secret)
    )
    assert again.status_code == 401


def test_bad_scopes_and_grant_are_refused(hospital, db, client):
    import pytest

    from app.core.errors import Invalid

    with pytest.raises(Invalid):
        clients.create(session=db, institution_id=hospital.id, created_by="t", scopes="user/*.*")
    assert (
        client.post("/fhir/r4/auth/token", data={"grant_type": "password"}).json()["error"] == "unsupported_grant_type"
    )
    assert (
        client.post(
            "/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!!"}
        ).status_code
        == 401
    )


def test_staff_cannot_manage_clients(login, personas, hospital):
    assert login(personas.staff).post("/admin/network", data={"institution_id": str(hospital.id)}).status_code == 403
