"""hearing answers by e-mail (issue 13): reply tokens, sent Message-IDs, answer attachments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00

``hearing_mail_key`` holds the random key the reply tokens are made with (one row,
made here); ``hearing_mail_sent`` the Message-IDs of the hearing e-mails sent to
members; ``hearing_answer_file`` the files that came with an answer by e-mail.
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Str = sqlmodel.sql.sqltypes.AutoString
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    key = op.create_table(
        "hearing_mail_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("secret", Str(length=64), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_table(
        "hearing_mail_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", Str(length=255), nullable=False, unique=True),
        sa.Column("hearing_id", sa.Integer(), sa.ForeignKey("hearing.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", When, nullable=False),
    )
    op.create_index("ix_hearing_mail_sent_hearing_id", "hearing_mail_sent", ["hearing_id"])
    op.create_table(
        "hearing_answer_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hearing_id", sa.Integer(), sa.ForeignKey("hearing.id"), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("person.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", Str(length=255), nullable=False),
        sa.Column("content_type", Str(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", Str(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", Str(length=255), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("hearing_id", "person_id", "version", "sha256", name="uq_answer_file"),
    )
    op.create_index("ix_hearing_answer_file_hearing_id", "hearing_answer_file", ["hearing_id"])
    op.bulk_insert(key, [{"secret": secrets.token_hex(32), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("hearing_answer_file")
    op.drop_table("hearing_mail_sent")
    op.drop_table("hearing_mail_key")
