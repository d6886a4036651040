"""Every catalog query."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import Executable, RowMapping, Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.db import any_of, one_of
from commerce.inventory.models import StockLevel, Warehouse


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "brand"


# Built once: every checkout and every catalog projection batch reads them, and building
# the statement (its subquery's columns, its operators) cost the API more than running it.


@functools.cache
def _snapshot_rows() -> Executable:
    return (
        select(
            *Product.__table__.c,
            # Named as ProductSnapshot's fields, so a row validates into one as it is.
            Brand.name.label("brand"),
            Category.slug.label("category"),
            Category.path.label("category_path"),
            Product.deleted_at.is_not(None).label("deleted"),
        )
        .join(Brand, Brand.id == Product.brand_id)
        .join(Category, Category.id == Product.category_id)
        .where(any_of(Product.id, "product_ids"))
    )


@functools.cache
def _variant_rows() -> Executable:
    available = (
        select(
            StockLevel.variant_id,
            func.sum(StockLevel.on_hand - StockLevel.reserved).label("available"),
        )
        .where(any_of(StockLevel.product_id, "product_ids"))
        .group_by(StockLevel.variant_id)
        .subquery()
    )
    return (
        select(
            Variant.id,
            Variant.product_id,
            Variant.sku,
            Variant.option_values.label("options"),
            Variant.price,
            func.coalesce(available.c.available, 0).label("available"),
        )
        .outerjoin(available, available.c.variant_id == Variant.id)
        .where(any_of(Variant.product_id, "product_ids"), Variant.deleted_at.is_(None))
        .order_by(Variant.product_id, Variant.position, Variant.created_at, Variant.id)
    )


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _products(self) -> Select[Product]:
        return (
            select(Product)
            .join(Product.brand)
            .join(Product.category)
            .options(contains_eager(Product.brand), contains_eager(Product.category))
        )

    async def get(self, product_id: uuid.UUID, *, for_update: bool = False) -> Product | None:
        query = self._products().where(Product.id == product_id, Product.deleted_at.is_(None))
        if for_update:
            query = query.with_for_update(of=Product)
        return (await self.session.scalars(query)).one_or_none()

    async def by_skus(self, skus: Sequence[str]) -> list[Product]:
        """Products (deleted ones too) by SKU, with brand and category."""
        return list(await self.session.scalars(self._products().where(one_of(Product.sku, skus))))

    async def snapshot_rows(self, product_ids: Sequence[uuid.UUID]) -> Sequence[RowMapping]:
        """Products' fields with their brand and category, deleted ones included.

        Plain rows, not ORM objects: projections read thousands a second, and building
        mapped instances for them cost more than the query.
        """
        rows = await self.session.execute(_snapshot_rows(), {"product_ids": list(product_ids)})
        return rows.mappings().all()

    async def live_ids_after(self, sku: str, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(id, sku) of the next `limit` live products after `sku`, in SKU order."""
        rows = await self.session.execute(
            select(Product.id, Product.sku)
            .where(Product.deleted_at.is_(None), Product.sku > sku)
            .order_by(Product.sku)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in rows]

    async def on_hand_by_warehouse(
        self, product_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, int]]:
        """Each variant's on-hand units per warehouse code."""
        rows = await self.session.execute(
            select(StockLevel.variant_id, Warehouse.code, StockLevel.on_hand)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(one_of(StockLevel.product_id, product_ids))
        )
        found: dict[uuid.UUID, dict[str, int]] = {}
        for variant_id, code, on_hand in rows.tuples():
            found.setdefault(variant_id, {})[code] = on_hand
        return found

    async def variant_rows(self, product_ids: Sequence[uuid.UUID]) -> Sequence[RowMapping]:
        """Live variants of products, in order, named as VariantSnapshot's fields, with
        `product_id` and `available` (units on hand and not reserved, over all warehouses)."""
        rows = await self.session.execute(_variant_rows(), {"product_ids": list(product_ids)})
        return rows.mappings().all()

    async def variant(
        self, product_id: uuid.UUID, variant_id: uuid.UUID, *, for_update: bool = False
    ) -> Variant | None:
        query = select(Variant).where(
            Variant.id == variant_id,
            Variant.product_id == product_id,
            Variant.deleted_at.is_(None),
        )
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def live_variant_count(self, product_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            Variant.product_id == product_id, Variant.deleted_at.is_(None)
        )
        return int(await self.session.scalar(query) or 0)

    async def on_hand(self, variant_id: uuid.UUID) -> int:
        query = select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(
            StockLevel.variant_id == variant_id
        )
        return int(await self.session.scalar(query) or 0)

    async def next_position(self, product_id: uuid.UUID) -> int:
        query = select(func.coalesce(func.max(Variant.position), -1) + 1).where(
            Variant.product_id == product_id
        )
        return int(await self.session.scalar(query) or 0)

    async def sku_taken(self, sku: str) -> bool:
        """Whether a product or a live variant has this SKU."""
        product = await self.session.scalar(select(Product.id).where(Product.sku == sku))
        variant = await self.session.scalar(
            select(Variant.id).where(Variant.sku == sku, Variant.deleted_at.is_(None))
        )
        return product is not None or variant is not None

    async def brand_by_name(self, name: str) -> Brand:
        """The brand with this name's slug, created on first use."""
        slug = slugify(name)
        await self.session.execute(
            insert(Brand)
            .values(slug=slug, name=name)
            .on_conflict_do_nothing(index_elements=["slug"])
        )
        return (await self.session.scalars(select(Brand).where(Brand.slug == slug))).one()

    async def category_by_slug(self, slug: str) -> Category | None:
        return await self.session.scalar(select(Category).where(Category.slug == slug))

    async def existing(
        self, products: set[uuid.UUID], brands: set[str], categories: set[str]
    ) -> tuple[set[uuid.UUID], set[str], set[str]]:
        """Which of these live products, brand names and category slugs the catalog has."""
        live = await self.session.scalars(
            select(Product.id).where(one_of(Product.id, products), Product.deleted_at.is_(None))
        )
        named = await self.session.scalars(select(Brand.name).where(one_of(Brand.name, brands)))
        slugs = await self.session.scalars(
            select(Category.slug).where(one_of(Category.slug, categories))
        )
        return set(live), set(named), set(slugs)

    async def categories_by_slug(self) -> dict[str, Category]:
        return {c.slug: c for c in await self.session.scalars(select(Category))}

    async def sku_owners(self, skus: Iterable[str]) -> list[tuple[str, str]]:
        """(variant SKU, its product's SKU) for each of these SKUs a live variant has."""
        found = await self.session.execute(
            select(Variant.sku, Product.sku)
            .join(Product, Product.id == Variant.product_id)
            .where(one_of(Variant.sku, skus), Variant.deleted_at.is_(None))
        )
        return list(found.tuples().all())

    async def deleted_skus(self, skus: Iterable[str]) -> list[str]:
        """Which of these product SKUs belong to deleted products."""
        query = select(Product.sku).where(
            one_of(Product.sku, skus), Product.deleted_at.is_not(None)
        )
        return list(await self.session.scalars(query))

    async def live_variants(self, product_ids: Sequence[uuid.UUID]) -> list[Variant]:
        query = select(Variant).where(
            one_of(Variant.product_id, product_ids), Variant.deleted_at.is_(None)
        )
        return list(await self.session.scalars(query))

    async def brands(self) -> list[Brand]:
        return list(await self.session.scalars(select(Brand).order_by(Brand.name)))

    async def categories(self) -> list[tuple[Category, str | None]]:
        parent = Category.__table__.alias("parent")
        query = (
            select(Category, parent.c.slug)
            .outerjoin(parent, parent.c.id == Category.parent_id)
            .order_by(Category.path)
        )
        return [(row[0], row[1]) for row in await self.session.execute(query)]

    async def page(
        self, *, category_path: str | None, brand_slug: str | None, offset: int, limit: int
    ) -> tuple[list[Product], int]:
        """One page of live products, newest first, under a category subtree and/or a brand."""
        query = self._products().where(Product.deleted_at.is_(None))
        if category_path is not None:
            query = query.where(
                (Category.path == category_path) | Category.path.startswith(category_path + "/")
            )
        if brand_slug is not None:
            query = query.where(Brand.slug == brand_slug)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(
            query.order_by(Product.created_at.desc(), Product.id).offset(offset).limit(limit)
        )
        return list(rows), int(total or 0)
