"""outbox workers and their heartbeats

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker",
        sa.Column("id", Str(length=100), primary_key=True),
        sa.Column("host", Str(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", When, nullable=False),
        sa.Column("last_seen", When, nullable=False),
    )
    op.create_index("ix_worker_last_seen", "worker", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_worker_last_seen", table_name="worker")
    op.drop_table("worker")
