"""meetings and their invitees (calendar invitations, answers); calendar-feed tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("council") as batch:
        batch.add_column(sa.Column("calendar_token", Str(length=64), nullable=True))
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", Str(length=200), nullable=False, unique=True),
        sa.Column("council_id", sa.Integer(), sa.ForeignKey("council.id"), nullable=False),
        sa.Column("title", Str(length=200), nullable=False),
        sa.Column("start_at", When, nullable=False),
        sa.Column("end_at", When, nullable=False),
        sa.Column("location", Str(length=500), nullable=True),
        sa.Column("url", Str(length=1000), nullable=True),
        sa.Column("agenda", sa.Text(), nullable=False),
        sa.Column("state", Str(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("sent_sequence", sa.Integer(), nullable=True),
        sa.Column("cycle_event_id", sa.Integer(), sa.ForeignKey("cycle_event.id"), nullable=True),
        sa.Column("created_by", Str(length=200), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_meeting_council_id", "meeting", ["council_id"])
    op.create_table(
        "meeting_invitee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=True),
        sa.Column("email", Str(length=254), nullable=False),
        sa.Column("name", Str(length=200), nullable=False),
        sa.Column("response", Str(length=8), nullable=False),
        sa.Column("responded_at", When, nullable=True),
        sa.UniqueConstraint("meeting_id", "email", name="uq_meeting_invitee"),
    )
    op.create_index("ix_meeting_invitee_meeting_id", "meeting_invitee", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("meeting_invitee")
    op.drop_table("meeting")
    with op.batch_alter_table("council") as batch:
        batch.drop_column("calendar_token")
