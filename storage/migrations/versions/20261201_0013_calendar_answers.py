"""calendar answers by e-mail (issue 13): where an invitee's answer came from

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 12:00:00

``meeting_invitee.source`` says whether an answer came from the Slack buttons
(``slack``) or from a calendar's iTIP REPLY (``calendar``); answers given before
this revision could only come from Slack. ``meeting.answers_sequence`` is the
SEQUENCE of the last move to another day (which reset the answers), so a calendar
answer to an older invitation no longer counts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("meeting_invitee") as batch:
        batch.add_column(sa.Column("source", Str(length=8), nullable=True))
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(
            sa.Column("answers_sequence", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE meeting_invitee SET source = 'slack' WHERE response <> 'none'")


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("answers_sequence")
    with op.batch_alter_table("meeting_invitee") as batch:
        batch.drop_column("source")
