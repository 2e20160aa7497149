"""recommendations (indstillinger) between councils (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

A recommendation from a council to another council or an outside e-mail address,
and the members' votes on agreeing it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recommendation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("from_council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("to_council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=True),
        sa.Column("to_email", Str(length=254), nullable=True),
        sa.Column("title", Str(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("about_council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=True),
        sa.Column("about_measure", Str(length=64), nullable=True),
        sa.Column("state", Str(length=16), nullable=False),
        sa.Column("request_key", Str(length=200), nullable=True, unique=True),
        sa.Column("created_by", Str(length=200), nullable=False),
        sa.Column("vote_opened_at", When, nullable=True),
        sa.Column("vote_opened_by", Str(length=200), nullable=True),
        sa.Column("agreed_how", Str(length=16), nullable=True),
        sa.Column("agreed_meeting", sa.Date(), nullable=True),
        sa.Column("agreed_by", Str(length=200), nullable=True),
        sa.Column("agreed_at", When, nullable=True),
        sa.Column("sent_by", Str(length=200), nullable=True),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_by", Str(length=200), nullable=True),
        sa.Column("answered_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_recommendation_state", "recommendation", ["state"])
    op.create_index("ix_recommendation_sent_at", "recommendation", ["sent_at"])
    op.create_index("ix_recommendation_answered_at", "recommendation", ["answered_at"])
    op.create_index("ix_recommendation_from_id", "recommendation", ["from_council_id", "id"])
    op.create_index("ix_recommendation_to_id", "recommendation", ["to_council_id", "id"])
    op.create_table(
        "recommendation_vote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "recommendation_id", sa.Integer(), sa.ForeignKey("recommendation.id"), nullable=False
        ),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("vote", Str(length=8), nullable=False),
        sa.Column("voted_at", When, nullable=False),
        sa.UniqueConstraint("recommendation_id", "person_id", name="uq_recommendation_vote"),
    )
    op.create_index(
        "ix_recommendation_vote_recommendation_id", "recommendation_vote", ["recommendation_id"]
    )
    op.create_index("ix_recommendation_vote_person_id", "recommendation_vote", ["person_id"])


def downgrade() -> None:
    op.drop_table("recommendation_vote")
    op.drop_table("recommendation")
