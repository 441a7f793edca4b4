"""encrypt free text that may be medical: household.notes, consent.withdrawal_reason, emergencycontact.note

The columns become TEXT (ciphertext is about four times as long as the text) and the rows already
stored are sealed with the field key ring, 500 at a time; values already ``enc1:…`` are left as
they are. Downgrade opens them again (the ring must hold their keys) and restores the VARCHARs.

Revision ID: 0011_encrypt_free_text
Revises: 0010_scale_indexes
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.crypto

revision = "0011_encrypt_free_text"
down_revision = "0010_scale_indexes"
branch_labels = None
depends_on = None

COLUMNS = (("household", "notes", 2000), ("consent", "withdrawal_reason", 400), ("emergencycontact", "note", 200))
BATCH = 500
SEALED = f"{app.core.crypto.PREFIX}:%"


def upgrade() -> None:
    ring = app.core.crypto.field_keyring()
    for table, column, length in COLUMNS:
        _alter(table, column, sqlmodel.sql.sqltypes.AutoString(length=length), app.core.crypto.EncryptedText())
        _rewrite(table, column, sa.column(column).not_like(SEALED), ring.seal)


def downgrade() -> None:
    ring = app.core.crypto.field_keyring()
    for table, column, length in reversed(COLUMNS):
        _rewrite(table, column, sa.column(column).like(SEALED), ring.open)
        _alter(table, column, app.core.crypto.EncryptedText(), sqlmodel.sql.sqltypes.AutoString(length=length))


def _alter(table: str, column: str, old, new) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:  # SQLite: foreign keys off (env.py)
        batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def _rewrite(table: str, column: str, todo, change) -> None:
    """Replace every value matching ``todo`` by ``change(value)``, in primary-key order, a batch at a time.

    Plain columns (no EncryptedText): the values are read and written exactly as stored."""
    bind = op.get_bind()
    t = sa.table(table, sa.column("id"), sa.column(column))
    todo = sa.and_(t.c[column].is_not(None), todo)
    update = t.update().where(t.c.id == sa.bindparam("b_id")).values({column: sa.bindparam("b_value")})
    last = 0
    while rows := bind.execute(
        sa.select(t.c.id, t.c[column]).where(todo, t.c.id > last).order_by(t.c.id).limit(BATCH)
    ).all():
        bind.execute(update, [{"b_id": row_id, "b_value": change(value)} for row_id, value in rows])
        last = rows[-1][0]
