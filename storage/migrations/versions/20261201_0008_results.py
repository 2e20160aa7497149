"""results data, deviations and alerts (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00

One value per jobcentre, measure and period (imported from Jobindsats.dk files), and
the deviations from comparable jobcentres found in them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "result_value",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("measure", Str(length=64), nullable=False),
        sa.Column("period", Str(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("council_id", "measure", "period", name="uq_result_value"),
    )
    op.create_table(
        "result_deviation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("measure", Str(length=64), nullable=False),
        sa.Column("since_period", Str(length=8), nullable=False),
        sa.Column("last_period", Str(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("group_mean", sa.Float(), nullable=False),
        sa.Column("difference", sa.Float(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("threshold_kind", Str(length=8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=True),
        sa.Column("agreed_with", Str(length=200), nullable=False),
        sa.Column("state", Str(length=8), nullable=False),
        sa.Column("ended_period", Str(length=8), nullable=True),
        sa.Column("chart", sa.Text(), nullable=True),
        sa.Column("ended_chart", sa.Text(), nullable=True),
        sa.Column("found_at", When, nullable=False),
        sa.Column("ended_at", When, nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("council_id", "measure", "since_period", name="uq_result_deviation"),
    )
    op.create_index("ix_result_deviation_state", "result_deviation", ["state", "council_id"])


def downgrade() -> None:
    op.drop_table("result_deviation")
    op.drop_table("result_value")
