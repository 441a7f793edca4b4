"""two-factor sign-in: single-use recovery codes and the last accepted TOTP step (app.auth.totp)

Revision ID: 0009_two_factor
Revises: 0008_residents
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_two_factor"
down_revision = "0008_residents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recoverycode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_recoverycode_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoverycode")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recoverycode_code_hash")),
    )
    with op.batch_alter_table("recoverycode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recoverycode_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")

    with op.batch_alter_table("recoverycode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recoverycode_user_id"))

    op.drop_table("recoverycode")
