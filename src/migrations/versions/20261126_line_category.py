"""order lines keep the product's category as it was at checkout, for sales by category

A product may move to another category later; last year's sales stay where they were made.
Lines placed before this revision take their product's category now.

Revision ID: 20261126_line_category
Revises: 20261126_outbox_settled
Create Date: 2026-11-26 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261126_line_category"
down_revision: str | None = "20261126_outbox_settled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("order_lines", sa.Column("category", sa.String(80), nullable=True))
    op.execute("""
        UPDATE order_lines l SET category = c.slug
        FROM products p JOIN categories c ON c.id = p.category_id
        WHERE p.id = l.product_id
    """)
    op.alter_column("order_lines", "category", nullable=False)


def downgrade() -> None:
    op.drop_column("order_lines", "category")
