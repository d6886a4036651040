"""Catalog export to CSV, in the import's format: export, edit, import again.

Rows are read in pages of products (by SKU) inside one repeatable-read transaction, so a
large catalog streams out as one consistent snapshot without being held in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.imports import COLUMNS
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.service import current_products
from commerce.events import ProductSnapshot
from commerce.spreadsheet import csv_text

PAGE = 1_000


async def export_products(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[str]:
    """The live catalog as CSV text, a page of products per chunk, header first."""
    yield csv_text(COLUMNS, ())
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        repo = CatalogRepository(session)
        after = ""
        while ids := await repo.live_ids_after(after, PAGE):
            products = await current_products(session, [product_id for product_id, _ in ids])
            stock = await repo.on_hand_by_warehouse([product_id for product_id, _ in ids])
            rows = [row for product_id, _ in ids for row in _rows(products[product_id][0], stock)]
            yield csv_text(None, rows)
            after = ids[-1][1]


def _rows(product: ProductSnapshot, stock: dict[uuid.UUID, dict[str, int]]) -> list[list[str]]:
    head = [
        product.sku,
        product.name,
        product.description,
        product.brand,
        product.category,
        _money(product.price),
        f"{product.rating:g}",
    ]
    return [
        [
            *head,
            ";".join(f"{name}={variant.options[name]}" for name in product.options),
            variant.sku,
            _money(variant.price) if variant.price is not None else "",
            ";".join(
                f"{code}={units}" for code, units in sorted(stock.get(variant.id, {}).items())
            ),
        ]
        for variant in product.variants
    ]


def _options(declared: list[str], values: dict[str, str]) -> str:
    """`size=M;colour=blue` in the product's order of options (names match ignoring case)."""
    by_name = {name.casefold(): value for name, value in values.items()}
    return ";".join(f"{name}={by_name[name.casefold()]}" for name in declared)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"
