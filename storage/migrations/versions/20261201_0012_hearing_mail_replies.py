"""hearing answers by e-mail (issue 13): reply tokens, sent Message-IDs, answer attachments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00

Reserved in the chain so that the issues built in parallel each own one revision;
the tables are added by the change that builds the capability.
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
