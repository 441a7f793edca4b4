"""First sign-in with the letter's access code: formats, 和暦, one-time use, lock-out, staff reset."""

from datetime import date

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.residents import service as codes
from app.residents import signin
from app.residents.models import CodeAttempt
from card_printing.letter import format_code

PASSPHRASE = "hanae no kusuri techo 2026"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def _start(
    client,
    code: str,
    birth: str = "昭和15年3月2日",
    username: str = "mihon-hanae",
    password: str = PASSPHRASE,
    password2=None,
):
    return client.post(
        "/me/start",
        data={
            "code": code,
            "birth_date": birth,
            "username": username,
            "display_name": "見本 花江（長女）",
            "password": password,
            "password2": password if password2 is None else password2,
        },
        follow_redirects=False,
    )


def test_code_with_hyphens_full_width_and_wareki_birth_date_creates_the_account(personas, db, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    typed = _full_width(format_code(code).lower().replace("-", " - "))
    client = anonymous()
    r = _start(client, typed, birth="S15.3.2")
    assert r.status_code == 303 and r.headers["location"] == "/me/?welcome=1"
    user = db.exec(select(User).where(User.username == "mihon-hanae")).one()
    assert (
        user.role == "resident"
        and user.household_id == personas.household.id
        and user.display_name == "見本 花江（長女）"
    )
    page = client.get("/me/")
    assert page.status_code == 200 and personas.patient.full_name in page.text
    assert (
        db.exec(select(AuditEvent).where(AuditEvent.action == "auth.code_used")).one().household_id
        == personas.household.id
    )
    # Later sign-ins: username and passphrase at /login.
    again = anonymous()
    r = again.post("/login", data={"username": "mihon-hanae", "password": PASSPHRASE}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me/"


def test_the_code_works_once(personas, db, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    assert _start(anonymous(), code).status_code == 303
    r = _start(anonymous(), code, username="mihon-jiro")
    assert r.status_code == 401 and "ちがいます" in r.text


def test_a_weak_passphrase_is_refused_without_using_the_code(personas, db, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    client = anonymous()
    assert _start(client, code, password="short").status_code == 422
    assert _start(client, code, password2=PASSPHRASE + "x").status_code == 422
    assert _start(client, code, username="a b").status_code == 422
    assert db.exec(select(CodeAttempt)).all() == []
    assert _start(client, code).status_code == 303


def test_wrong_birth_date_or_code_is_refused(personas, db, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    client = anonymous()
    assert _start(client, code, birth="昭和15年3月3日").status_code == 401
    assert _start(client, "2345-6789-ABCD").status_code == 401
    assert _start(client, code, birth="昭和65年1月1日").status_code == 422  # not a date: not counted
    assert len(db.exec(select(CodeAttempt)).all()) == 2
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "auth.code_failed")).all()) == 2


def test_guessing_is_locked_out_after_five_tries(personas, db, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    client = anonymous()
    statuses = [_start(client, f"2345-6789-ABC{c}").status_code for c in "DEFGH"]
    assert statuses == [401, 401, 401, 401, 429]
    r = _start(client, code)  # even the right code, while locked
    assert r.status_code == 429 and "30分" in r.text
    assert db.exec(select(User).where(User.username == "mihon-hanae")).first() is None


def test_the_lock_follows_the_birth_date_across_addresses(personas, db):
    birth = date(1940, 3, 2)
    for n in range(signin.MAX_FAILURES):
        signin.record_failure(session=db, ip=f"192.0.2.{n}", birth_date=birth)
    assert signin.is_locked(session=db, ip="198.51.100.7", birth_date=birth)
    assert not signin.is_locked(session=db, ip="198.51.100.7", birth_date=date(1941, 1, 1))


def test_staff_reset_ends_accounts_and_code(personas, db, login, anonymous):
    code = codes.issue_access_code(session=db, household_id=personas.household.id)
    staff = login(personas.staff)
    assert "未使用のコードがあります" in staff.get(f"/staff/households/{personas.household.id}/residents").text
    r = staff.post(f"/staff/households/{personas.household.id}/residents/reset", follow_redirects=False)
    assert r.status_code == 303
    db.refresh(personas.resident)
    assert not personas.resident.is_active
    assert _start(anonymous(), code).status_code == 401  # the letter's code is void too
    # The outsider's household is untouched.
    db.refresh(personas.outsider)
    assert personas.outsider.is_active
