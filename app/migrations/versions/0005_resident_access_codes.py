"""resident access codes: the code on the issuance letter (app.residents)

Revision ID: 0005_resident_access_codes
Revises: 0004_devices
Create Date: 2026-11-24 11:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005_resident_access_codes"
down_revision = "0004_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "residentaccesscode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_residentaccesscode_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residentaccesscode")),
    )
    with op.batch_alter_table("residentaccesscode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residentaccesscode_household_id"), ["household_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("residentaccesscode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residentaccesscode_household_id"))
    op.drop_table("residentaccesscode")
