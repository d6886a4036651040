"""outbox rows by topic: a consumer's backlog is found without scanning other topics' rows

Revision ID: 20261126_outbox_by_topic
Revises: 20261126_dead_letters
Create Date: 2026-11-26 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261126_outbox_by_topic"
down_revision: str | None = "20261126_dead_letters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_topic_seq", "outbox", ["topic", "seq"])


def downgrade() -> None:
    op.drop_index("ix_outbox_topic_seq", table_name="outbox")
