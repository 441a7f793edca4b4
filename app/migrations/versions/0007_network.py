"""regional network: FHIR network clients; the receiving hospital's acknowledgement of a transport

Revision ID: 0007_network
Revises: 0006_audit_review
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_network"
down_revision = "0006_audit_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "networkclient",
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institution.id"], name=op.f("fk_networkclient_institution_id_institution")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_networkclient_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networkclient")),
    )
    with op.batch_alter_table("networkclient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_networkclient_client_id"), ["client_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_networkclient_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_networkclient_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("transport", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("transport", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
    with op.batch_alter_table("networkclient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networkclient_user_id"))
        batch_op.drop_index(batch_op.f("ix_networkclient_institution_id"))
        batch_op.drop_index(batch_op.f("ix_networkclient_client_id"))
    op.drop_table("networkclient")
