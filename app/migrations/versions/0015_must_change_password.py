"""must_change_password: an administrator-issued password must be replaced at the first sign-in

Revision ID: 0015_must_change_password
Revises: 0014_passkeys
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_must_change_password"
down_revision = "0014_passkeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Accounts made before this revision keep the passwords they have (server default false).
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
