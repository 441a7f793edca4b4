"""search trigrams: pg_trgm GIN indexes for person search on PostgreSQL (nothing on SQLite)

Search matches substrings (``LIKE '%…%'``), which a B-tree cannot seek; PostgreSQL scanned
the person table for every kana or name query (p95 ~110 ms at 200,000 persons). A trigram
index finds the candidate rows of any pattern with three or more characters, kana and kanji
included (docs/decisions.md, "Scale").

The extension is optional: where it cannot be created (not installed, or the database user may
not create it) the migration says so and leaves search as it was, correct but slower. pg_trgm
is a "trusted" extension since PostgreSQL 13, so the database owner may create it; Debian's
``postgresql-15`` package ships it. These indexes are not declared on the models (SQLite has no
such index type); tests/operations/test_migrations.py leaves names ending in ``_trgm`` out of
its model-to-schema comparison.

Revision ID: 0013_search_trigrams
Revises: 0012_card_qr_symbol
"""

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0013_search_trigrams"
down_revision = "0012_card_qr_symbol"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# (index, table, column): every column persons.search matches with a substring.
INDEXES = (
    ("ix_person_name_key_trgm", "person", "name_key"),
    ("ix_person_kana_key_trgm", "person", "kana_key"),
    ("ix_person_phone_key_trgm", "person", "phone_key"),
    ("ix_household_phone_key_trgm", "household", "phone_key"),
    ("ix_household_address_line_trgm", "household", "address_line"),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():  # a refusal must not abort the rest of the migration
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as exc:
        log.warning(
            "pg_trgm could not be created (%s); person search works without it, only slower. "
            "See docs/operations.md, 'PostgreSQL'.",
            str(exc.orig).strip().splitlines()[0],
        )
        return
    for index, table, column in INDEXES:
        bind.execute(text(f'CREATE INDEX IF NOT EXISTS {index} ON "{table}" USING gin ({column} gin_trgm_ops)'))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for index, _, _ in INDEXES:
        bind.execute(text(f"DROP INDEX IF EXISTS {index}"))
