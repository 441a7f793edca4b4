"""Migrations on a committed database: the schema they build is the one the models declare, and
0011 (free text encrypted) goes down and up again with data in it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import Session, select

from app.core import db
from app.core.crypto import field_keyring
from app.households.models import Household
from app.persons.models import Consent, EmergencyContact
from tests.operations.conftest import CONTACT_NOTE, HOUSEHOLD_NOTE, WITHDRAWAL_REASON, seed

FREE_TEXT = {"household": "notes", "consent": "withdrawal_reason", "emergencycontact": "note"}
BEFORE = "0010_scale_indexes"


def _declared(obj, name, type_, reflected, compare_to) -> bool:
    """PostgreSQL's trigram indexes (0013) exist only there and are not declared on the models."""
    return not (type_ == "index" and reflected and (name or "").endswith("_trgm"))


def _schema_diff(engine) -> list:
    import app.models  # noqa: F401  (registers every table)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _declared})
        return compare_metadata(context, db.metadata)


def _raw(installation) -> dict[str, dict[int, str]]:
    """The three columns as stored, by table and row id."""
    with installation.engine.connect() as conn:
        return {t: dict(conn.execute(text(f'SELECT id, "{c}" FROM "{t}"')).all()) for t, c in FREE_TEXT.items()}


def test_the_migrated_schema_is_what_the_models_declare(installation):
    assert _schema_diff(installation.engine) == []


def test_search_substrings_use_trigram_indexes_on_postgresql(installation):
    """0013: every column search matches by substring has a GIN trigram index the planner can use
    for the LIKE search writes (escaped pattern included); SQLite gets none."""
    indexes = {
        "ix_person_name_key_trgm",
        "ix_person_kana_key_trgm",
        "ix_person_phone_key_trgm",
        "ix_household_phone_key_trgm",
        "ix_household_address_line_trgm",
    }
    if installation.is_sqlite:
        assert not installation.scalar("SELECT count(*) FROM sqlite_master WHERE name LIKE '%trgm%'")
        return
    with installation.engine.connect() as conn:
        found = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")).scalars())
        assert found == indexes
        conn.execute(text("SET enable_seqscan = off"))  # a few rows: the planner would scan otherwise
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN SELECT id FROM person WHERE kana_key LIKE '%' || :q || '%' ESCAPE '/'"), {"q": "ヤマダ"}
            ).scalars()
        )
    assert "ix_person_kana_key_trgm" in plan, plan
    db.downgrade(installation.engine, "0012_card_qr_symbol")
    assert installation.scalar("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%\\_trgm'") == 0
    db.upgrade(installation.engine)
    assert _schema_diff(installation.engine) == []


def test_0011_encrypts_free_text_and_its_downgrade_opens_it_again(installation):
    ids = seed(installation.engine, persons=2)
    ring = field_keyring()
    assert all(v.startswith("enc1:") for values in _raw(installation).values() for v in values.values())

    db.downgrade(installation.engine, BEFORE)
    down = _raw(installation)
    assert set(down["household"].values()) == {HOUSEHOLD_NOTE}
    assert set(down["emergencycontact"].values()) == {CONTACT_NOTE}
    assert set(down["consent"].values()) == {WITHDRAWAL_REASON}

    # Rows written by the old version (more than one batch of 500), and one value already sealed.
    now = datetime.now(UTC).replace(tzinfo=None)
    already = ring.seal("既に暗号化QZX")
    with installation.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO emergencycontact (name, kana, relation, phone, phone2, note, person_id, position, "
                "created_at) "
                "VALUES ('試験 一郎', '', '', '090-0000-0002', '', :note, :person, :position, :now)"
            ),
            [
                {"note": f"旧版メモ{n}", "person": ids["person_ids"][0], "position": n + 2, "now": now}
                for n in range(1200)
            ],
        )
        first_contact = min(down["emergencycontact"])
        conn.execute(text("UPDATE emergencycontact SET note = :v WHERE id = :id"), {"v": already, "id": first_contact})

    db.upgrade(installation.engine)
    up = _raw(installation)
    assert all(v.startswith(f"enc1:{ring.active}:") for values in up.values() for v in values.values())
    assert up["emergencycontact"][first_contact] == already  # left as it was
    assert _schema_diff(installation.engine) == []
    with Session(installation.engine) as session:
        assert session.get(Household, ids["household_id"]).notes == HOUSEHOLD_NOTE
        assert {c.note for c in session.exec(select(EmergencyContact))} == {"既に暗号化QZX", CONTACT_NOTE} | {
            f"旧版メモ{n}" for n in range(1200)
        }
        assert [c.withdrawal_reason for c in session.exec(select(Consent))] == [WITHDRAWAL_REASON]

    if installation.is_sqlite:  # foreign keys were off for the table copies only, and nothing dangles
        with installation.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    db.downgrade(installation.engine, BEFORE)  # and once more: down and up again
    assert _raw(installation)["household"] == down["household"]
    db.upgrade(installation.engine)
    assert _schema_diff(installation.engine) == []
    with Session(installation.engine) as session:
        assert session.get(Household, ids["household_id"]).notes == HOUSEHOLD_NOTE
