"""residents: failed access-code attempts, counted for the lock-out (app.residents.signin)

Revision ID: 0008_residents
Revises: 0007_network
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_residents"
down_revision = "0007_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "codeattempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codeattempt")),
    )
    with op.batch_alter_table("codeattempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_codeattempt_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_codeattempt_ip"), ["ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_codeattempt_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("codeattempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codeattempt_subject"))
        batch_op.drop_index(batch_op.f("ix_codeattempt_ip"))
        batch_op.drop_index(batch_op.f("ix_codeattempt_at"))
    op.drop_table("codeattempt")
