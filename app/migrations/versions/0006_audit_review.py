"""audit: signed checkpoints, reviews, search indexes; the log made append-only by triggers

Revision ID: 0006_audit_review
Revises: 0005_resident_access_codes

On PostgreSQL and SQLite a trigger refuses UPDATE and DELETE (PostgreSQL: TRUNCATE too) on
``auditevent``, ``auditcheckpoint`` and ``auditreview``. A superuser can still bypass it
(``session_replication_role = replica``); that is what the hash chain and the signed
checkpoints are for.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_audit_review"
down_revision = "0005_resident_access_codes"
branch_labels = None
depends_on = None

APPEND_ONLY = ("auditevent", "auditcheckpoint", "auditreview")


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION lifeline_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION lifeline_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION lifeline_audit_append_only()"
            )
    elif op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {verb} on {table} refused'); END"
                )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS lifeline_audit_append_only()")
    elif op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    op.create_table(
        "auditcheckpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("prev_seq", sa.Integer(), nullable=False),
        sa.Column("signed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auditcheckpoint")),
    )
    op.create_index(op.f("ix_auditcheckpoint_seq"), "auditcheckpoint", ["seq"], unique=True)
    op.create_table(
        "auditreview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("reviewer_user_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_user_id"], ["user.id"], name=op.f("fk_auditreview_reviewer_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auditreview")),
    )
    op.create_index(op.f("ix_auditreview_event_seq"), "auditreview", ["event_seq"], unique=False)
    op.create_index(op.f("ix_auditreview_reviewer_user_id"), "auditreview", ["reviewer_user_id"], unique=False)
    op.create_index(op.f("ix_auditevent_actor_user_id"), "auditevent", ["actor_user_id"], unique=False)
    op.create_index("ix_auditevent_at", "auditevent", ["at"], unique=False)
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_index("ix_auditevent_at", table_name="auditevent")
    op.drop_index(op.f("ix_auditevent_actor_user_id"), table_name="auditevent")
    op.drop_index(op.f("ix_auditreview_reviewer_user_id"), table_name="auditreview")
    op.drop_index(op.f("ix_auditreview_event_seq"), table_name="auditreview")
    op.drop_table("auditreview")
    op.drop_index(op.f("ix_auditcheckpoint_seq"), table_name="auditcheckpoint")
    op.drop_table("auditcheckpoint")
