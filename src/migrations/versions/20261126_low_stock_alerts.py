"""low-stock alerts: per-SKU lines and the SKUs already alerted

Revision ID: 20261126_low_stock_alerts
Revises: 20261126_search_tuning
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261126_low_stock_alerts"
down_revision: str | None = "20261126_search_tuning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "low_stock_thresholds",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_low_stock_thresholds")),
    )
    op.create_table(
        "low_stock_alerts",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column(
            "alerted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_low_stock_alerts")),
    )


def downgrade() -> None:
    op.drop_table("low_stock_alerts")
    op.drop_table("low_stock_thresholds")
