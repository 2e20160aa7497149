"""web sign-in: one-time sign-in links and the overview's share token (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:00:00

Sessions are signed cookies (no table). A sign-in link sent by e-mail is a row so it
can be used once only; an RBR's read-only overview link has its own token, like the
calendar feed's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("council") as batch:
        batch.add_column(sa.Column("overview_token", Str(length=64), nullable=True))
    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", Str(length=64), nullable=False, unique=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("next_path", Str(length=200), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("used_at", When, nullable=True),
    )
    op.create_index("ix_sign_in_link_person_id", "sign_in_link", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_link_person_id", table_name="sign_in_link")
    op.drop_table("sign_in_link")
    with op.batch_alter_table("council") as batch:
        batch.drop_column("overview_token")
