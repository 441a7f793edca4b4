"""EMS devices, crew sessions bound to a device, offline access records, destination hospitals

Revision ID: 0004_devices
Revises: 0003_import_jobs
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_devices"
down_revision = "0003_import_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("organisation", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("enrollment_code_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("enrollment_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("enrollment_failures", sa.Integer(), nullable=False),
        sa.Column("enrolled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("device_token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("disabled_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_device_token_hash"), ["device_token_hash"], unique=True)

    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_authsession_device_id"), ["device_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_authsession_device_id_device"), "device", ["device_id"], ["id"])

    op.create_table(
        "offlineaccess",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("scanned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_offlineaccess_device_id_device")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_offlineaccess_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offlineaccess")),
    )
    with op.batch_alter_table("offlineaccess", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offlineaccess_client_id"), ["client_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_offlineaccess_device_id"), ["device_id"], unique=False)

    op.create_table(
        "transport",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("incident", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_transport_device_id_device")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institution.id"], name=op.f("fk_transport_institution_id_institution")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_transport_person_id_person")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_transport_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transport")),
    )
    with op.batch_alter_table("transport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transport_audit_id"), ["audit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transport_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transport_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_table("transport")
    op.drop_table("offlineaccess")
    with op.batch_alter_table("authsession", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_authsession_device_id_device"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_authsession_device_id"))
        batch_op.drop_column("device_id")
    op.drop_table("device")
