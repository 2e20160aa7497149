"""web sign-in: sessions, one-time sign-in links, overview share tokens (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:00:00

Reserved in the chain so that the issues built in parallel each own one revision;
the tables are added by the change that builds the capability.
"""

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
