"""The staff directory pages (/staff/directory): institutions and practitioners of the region."""

from sqlmodel import select

from app.directory.models import Institution


def test_a_nul_in_the_directory_form_is_a_field_error_and_nothing_is_stored(login, personas, db):
    """Found by probing every route with NUL on PostgreSQL: this form answered a 500 there."""
    r = login(personas.staff).post("/staff/directory/institutions", data={"name": "見本\x00病院", "kind": "hospital"})
    assert r.status_code == 422 and "制御文字（NULなど）は使えません" in r.text
    assert db.exec(select(Institution).where(Institution.name.like("見本%病院"))).first() is None
