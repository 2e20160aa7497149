"""inbound mail (issue 13): every message read, once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00

``inbound_message`` remembers each message read from IMAP or ``aarshjul mail ingest``
(unique on its Message-ID and on the SHA-256 of its bytes) with what handling it came
to, and its raw bytes for ``[inbound] keep_raw_days``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", Str(length=998), nullable=False),
        sa.Column("sha256", Str(length=64), nullable=True),
        sa.Column("received_at", When, nullable=False),
        sa.Column("source", Str(length=8), nullable=False),
        sa.Column("from_address", Str(length=254), nullable=False),
        sa.Column("subject", Str(length=300), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("disposition", Str(length=16), nullable=False),
        sa.Column("kind", Str(length=40), nullable=False),
        sa.Column("summary_key", Str(length=120), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_inbound_message_message_id", "inbound_message", ["message_id"], unique=True)
    op.create_index("ix_inbound_message_sha256", "inbound_message", ["sha256"], unique=True)
    op.create_index("ix_inbound_message_received_at", "inbound_message", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_message_received_at", table_name="inbound_message")
    op.drop_index("ix_inbound_message_sha256", table_name="inbound_message")
    op.drop_index("ix_inbound_message_message_id", table_name="inbound_message")
    op.drop_table("inbound_message")
