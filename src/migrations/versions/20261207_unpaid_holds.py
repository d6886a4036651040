"""unpaid holds: where each order was placed from, for the open unpaid orders per address

Revision ID: 20261207_unpaid_holds
Revises: 20261126_engagement
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261207_unpaid_holds"
down_revision: str | None = "20261126_engagement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("placed_from", sa.String(length=64), nullable=True))
    # Only unpaid orders are counted by address: the index stays as small as they are few.
    op.create_index(
        "ix_orders_pending_placed_from",
        "orders",
        ["placed_from", "expires_at"],
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_pending_placed_from", table_name="orders")
    op.drop_column("orders", "placed_from")
