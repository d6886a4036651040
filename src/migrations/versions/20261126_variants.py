"""product variants: stock, reservations and the ledger move to the variant SKU

Every existing product gets one default variant (its own SKU, no options), and every stock
level and ledger row moves to it: no unit and no movement is lost.

Revision ID: 20261126_variants
Revises: 20261126_outbox_by_topic
Create Date: 2026-11-26 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261126_variants"
down_revision: str | None = "20261126_outbox_by_topic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("options", postgresql.JSONB(), nullable=False, server_default="[]"),
    )
    op.create_table(
        "product_variants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("option_values", postgresql.JSONB(), nullable=False),
        sa.Column("option_key", sa.String(length=600), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_variants_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_variants")),
    )
    op.create_index("ix_product_variants_product_id", "product_variants", ["product_id"])
    op.create_index(
        "uq_product_variants_live_sku",
        "product_variants",
        ["sku"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "uq_product_variants_live_options",
        "product_variants",
        ["product_id", "option_key"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.execute("""
        INSERT INTO product_variants
            (id, product_id, sku, option_values, option_key, price, position, created_at,
             deleted_at)
        SELECT gen_random_uuid(), id, sku, '{}', '', NULL, 0, created_at, deleted_at
        FROM products
    """)
    for table in ("stock_levels", "stock_movements"):
        op.add_column(table, sa.Column("variant_id", sa.Uuid(), nullable=True))
        op.execute(f"""
            UPDATE {table} t SET variant_id = v.id
            FROM product_variants v WHERE v.product_id = t.product_id
        """)
        op.alter_column(table, "variant_id", nullable=False)
        op.create_foreign_key(
            f"fk_{table}_variant_id_product_variants",
            table,
            "product_variants",
            ["variant_id"],
            ["id"],
        )
    op.drop_constraint("pk_stock_levels", "stock_levels", type_="primary")
    op.create_primary_key("pk_stock_levels", "stock_levels", ["variant_id", "warehouse_id"])
    op.create_index("ix_stock_levels_product_id", "stock_levels", ["product_id"])
    op.create_index("ix_stock_movements_variant_id", "stock_movements", ["variant_id"])


def downgrade() -> None:
    connection = op.get_bind()
    several = connection.scalar(
        sa.text("SELECT count(*) FROM product_variants GROUP BY product_id ORDER BY 1 DESC LIMIT 1")
    )
    if several and several > 1:
        raise RuntimeError("products have several variants: their stock cannot be merged back")
    op.drop_index("ix_stock_movements_variant_id", table_name="stock_movements")
    op.drop_index("ix_stock_levels_product_id", table_name="stock_levels")
    op.drop_constraint("pk_stock_levels", "stock_levels", type_="primary")
    op.create_primary_key("pk_stock_levels", "stock_levels", ["product_id", "warehouse_id"])
    for table in ("stock_levels", "stock_movements"):
        op.drop_constraint(f"fk_{table}_variant_id_product_variants", table, type_="foreignkey")
        op.drop_column(table, "variant_id")
    op.drop_table("product_variants")
    op.drop_column("products", "options")
