"""meeting agendas and their items (issue 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00

One agenda per meeting (its version and what was sent), and the agenda's items in
order: typed by a secretariat or taken from what is due (deviations,
recommendations, hearings, cycle deadlines), with carry-over to the next meeting.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agenda",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_version", sa.Integer(), nullable=True),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("sent_by", Str(length=200), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("meeting_id"),
    )
    op.create_index("ix_agenda_council_id", "agenda", ["council_id"])
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", Str(length=16), nullable=False),
        sa.Column("source", Str(length=100), nullable=True),
        sa.Column("title", Str(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by_council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=True),
        sa.Column("state", Str(length=16), nullable=False),
        sa.Column("carried_from", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=True),
        sa.Column("created_by", Str(length=200), nullable=False),
        sa.Column("done_by", Str(length=200), nullable=True),
        sa.Column("done_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.UniqueConstraint("meeting_id", "source", name="uq_agenda_item_source"),
    )
    op.create_index("ix_agenda_item_meeting_position", "agenda_item", ["meeting_id", "position"])
    op.create_index("ix_agenda_item_council_state", "agenda_item", ["council_id", "state"])


def downgrade() -> None:
    op.drop_table("agenda_item")
    op.drop_table("agenda")
