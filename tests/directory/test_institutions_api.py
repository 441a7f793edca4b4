"""GET /api/v1/institutions: the region's institutions, e.g. the hospitals a crew can choose as destination."""


def test_hospitals_of_the_region(login, personas):
    hospitals = login(personas.paramedic).get("/api/v1/institutions", params={"kind": "hospital"}).json()
    names = [h["name"] for h in hospitals]
    assert "済生会加須病院" in names and all(h["kind"] == "hospital" for h in hospitals)
    assert login(personas.paramedic).get("/api/v1/institutions", params={"kind": "nonsense"}).status_code == 422
