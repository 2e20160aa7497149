"""indexes for the bounded list queries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

/hearing list, /seminar list, App Home, the CLI lists and the digests filter to the
asker's councils and page in SQL (issue 10); these indexes let them read only the rows
they show, however many rows the other councils have.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: name, table, columns; the same as declared on the models in storage/models.py.
INDEXES = (
    ("ix_hearing_council_id_id", "hearing", ["council_id", "id"]),
    ("ix_meeting_council_start", "meeting", ["council_id", "start_at"]),
    ("ix_meeting_start_at", "meeting", ["start_at"]),
    ("ix_meeting_invitee_person_id", "meeting_invitee", ["person_id"]),
    ("ix_cycle_event_council_date", "cycle_event", ["council_id", "date"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
