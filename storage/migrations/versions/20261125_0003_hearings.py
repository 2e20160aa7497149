"""hearings, their invitees and answers; absences with substitutes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hearing",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("title", Str(length=200), nullable=False),
        sa.Column("subject", Str(length=32), nullable=False),
        sa.Column("document_url", Str(length=1000), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", Str(length=16), nullable=False),
        sa.Column("cycle_event_id", sa.Integer(), sa.ForeignKey("cycle_event.id"), nullable=True),
        sa.Column("request_key", Str(length=200), nullable=True, unique=True),
        sa.Column("opened_by", Str(length=200), nullable=False),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("closed_by", Str(length=200), nullable=True),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("announcement_url", Str(length=1000), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_hearing_council_id", "hearing", ["council_id"])
    op.create_index("ix_hearing_state", "hearing", ["state"])
    op.create_table(
        "hearing_invitee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hearing_id", sa.Integer(), sa.ForeignKey("hearing.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.UniqueConstraint("hearing_id", "person_id", name="uq_hearing_invitee"),
    )
    op.create_index("ix_hearing_invitee_hearing_id", "hearing_invitee", ["hearing_id"])
    op.create_index("ix_hearing_invitee_person_id", "hearing_invitee", ["person_id"])
    op.create_table(
        "hearing_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hearing_id", sa.Integer(), sa.ForeignKey("hearing.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("position", Str(length=32), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("link", Str(length=1000), nullable=True),
        sa.Column("behalf", Str(length=16), nullable=False),
        sa.Column("organisation", Str(length=100), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answered_at", When, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("hearing_id", "person_id", name="uq_hearing_answer"),
    )
    op.create_index("ix_hearing_answer_hearing_id", "hearing_answer", ["hearing_id"])
    op.create_index("ix_hearing_answer_person_id", "hearing_answer", ["person_id"])
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("substitute_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=True),
        sa.Column("created_by", Str(length=200), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_index("ix_absence_person_id", "absence", ["person_id"])


def downgrade() -> None:
    op.drop_table("absence")
    op.drop_table("hearing_answer")
    op.drop_table("hearing_invitee")
    op.drop_table("hearing")
