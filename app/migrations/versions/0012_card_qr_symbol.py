"""card QR symbol: the encoded symbol of each card's QR text, stored at issuance

Existing cards keep NULL; the first print of each encodes its symbol and stores it
(``card_printing.batch``), so no data step is needed here.

Revision ID: 0012_card_qr_symbol
Revises: 0011_encrypt_free_text
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_card_qr_symbol"
down_revision = "0011_encrypt_free_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("qr_symbol", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_column("qr_symbol")
