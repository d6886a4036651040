"""search tuning: merchandisers' synonyms and rules

Revision ID: 20261126_search_tuning
Revises: 20261126_line_category
Create Date: 2026-11-26 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261126_search_tuning"
down_revision: str | None = "20261126_line_category"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_synonyms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("terms", postgresql.JSONB(), nullable=False),
        sa.Column("one_way", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonyms")),
    )
    op.create_table(
        "search_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=80), nullable=True),
        sa.Column("actions", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_rules")),
    )
    op.create_index("ix_search_rules_query", "search_rules", ["query"])
    op.create_index("ix_search_rules_category", "search_rules", ["category"])


def downgrade() -> None:
    op.drop_table("search_rules")
    op.drop_table("search_synonyms")
