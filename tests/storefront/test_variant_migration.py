"""The variants migration moves every unit and every ledger row to a default variant."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text

import migrations
from commerce.db import create_engine

BEFORE_VARIANTS = "20261126_outbox_by_topic"


async def test_existing_stock_and_ledger_move_to_default_variants(fresh_database: str) -> None:
    config = migrations.alembic_config(fresh_database)
    await asyncio.to_thread(command.downgrade, config, BEFORE_VARIANTS)
    engine = create_engine(fresh_database)
    products = [uuid.uuid4() for _ in range(3)]
    async with engine.begin() as connection:
        await connection.execute(
            text("""
            INSERT INTO brands (id, slug, name) VALUES (1, 'acme', 'Acme');
            INSERT INTO categories (id, slug, name, path) VALUES (1, 'lamps', 'Lamps', 'lamps');
            INSERT INTO warehouses (id, code, name) VALUES (1, 'berlin', 'B'), (2, 'osaka', 'O');
        """)
        )
        for number, product in enumerate(products):
            await connection.execute(
                text("""
                INSERT INTO products (id, sku, name, description, brand_id, category_id, price,
                    currency, rating, attributes, version)
                VALUES (:id, :sku, 'Lamp', '', 1, 1, 10, 'USD', 4, '{}', 1)
                """),
                {"id": product, "sku": f"OLD-{number}"},
            )
            for warehouse in (1, 2):
                quantity = 10 * (number + 1) + warehouse
                row = {"p": product, "w": warehouse, "q": quantity}
                await connection.execute(
                    text("""
                    INSERT INTO stock_levels (product_id, warehouse_id, on_hand, reserved)
                    VALUES (:p, :w, :q, 1)
                    """),
                    row,
                )
                await connection.execute(
                    text("""
                    INSERT INTO stock_movements (product_id, warehouse_id, delta, on_hand_after,
                        reason) VALUES (:p, :w, :q, :q, 'count')
                    """),
                    row,
                )

    await asyncio.to_thread(migrations.upgrade, fresh_database)

    async with engine.connect() as connection:
        variants = (
            await connection.execute(
                text("SELECT product_id, sku, option_values FROM product_variants ORDER BY sku")
            )
        ).all()
        levels = (
            await connection.execute(
                text("""
                SELECT count(*), sum(on_hand), sum(reserved), count(*) FILTER (WHERE v.id IS NULL)
                FROM stock_levels s
                LEFT JOIN product_variants v ON v.id = s.variant_id AND v.product_id = s.product_id
            """)
            )
        ).one()
        ledger = (
            await connection.execute(
                text("""
                SELECT count(*), sum(delta), count(*) FILTER (WHERE v.id IS NULL)
                FROM stock_movements m
                LEFT JOIN product_variants v ON v.id = m.variant_id AND v.product_id = m.product_id
            """)
            )
        ).one()
    await engine.dispose()

    assert [(v.product_id, v.sku, v.option_values) for v in variants] == [
        (product, f"OLD-{number}", {}) for number, product in enumerate(products)
    ]
    units = sum(10 * (n + 1) + w for n in range(3) for w in (1, 2))
    assert tuple(levels) == (6, units, 6, 0)
    assert tuple(ledger) == (6, units, 0)
