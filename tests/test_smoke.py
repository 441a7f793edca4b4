def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_staff_sees_person(login, personas):
    c = login(personas.staff)
    r = c.get(f"/staff/persons/{personas.patient.id}")
    assert r.status_code == 200
    assert "アムロジピン" in r.text
