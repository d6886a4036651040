"""Catalog use cases. Services stage changes and events; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.cache import CatalogCache
from commerce.catalog.errors import (
    CategoryNotFound,
    OptionsMismatch,
    ProductNotFound,
    SkuTaken,
    UnknownCategory,
    VariantExists,
    VariantsRequired,
)
from commerce.catalog.models import Brand, Category, Product, Variant
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.schemas import (
    BrandOut,
    CategoryOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    VariantIn,
    VariantOut,
)
from commerce.db import flush_unique
from commerce.events import ProductSnapshot, VariantSnapshot
from commerce.outbox import add_event
from commerce.pages import Page


def snapshot(product: Product, variants: Sequence[VariantSnapshot]) -> ProductSnapshot:
    """The event payload for a product as it now stands, with its live variants."""
    return ProductSnapshot(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        brand=product.brand.name,
        category=product.category.slug,
        category_path=product.category.path,
        price=product.price,
        currency=product.currency,
        rating=product.rating,
        attributes=product.attributes,
        created_at=product.created_at,
        version=product.version,
        deleted=product.deleted_at is not None,
        options=list(product.options),
        variants=list(variants),
    )


def variant_out(variant: VariantSnapshot, product_price: Decimal, available: int) -> VariantOut:
    return VariantOut(
        id=variant.id,
        sku=variant.sku,
        options=variant.options,
        price=variant.price_or(product_price),
        price_override=variant.price,
        available=available,
        in_stock=available > 0,
    )


def to_out(product: Product, stock: Stocked) -> ProductOut:
    variants, available = stock
    total = sum(available.get(v.id, 0) for v in variants)
    return ProductOut(
        **snapshot(product, variants).model_dump(exclude={"deleted", "variants"}),
        variants=[variant_out(v, product.price, available.get(v.id, 0)) for v in variants],
        available=total,
        in_stock=total > 0,
        updated_at=product.updated_at,
    )


#: A product's live variants and the available units of each (by variant id).
Stocked = tuple[list[VariantSnapshot], dict[uuid.UUID, int]]


async def stocked_variants(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Stocked]:
    """Each product's live variants, in order, with what each has available."""
    found: dict[uuid.UUID, Stocked] = {pid: ([], {}) for pid in product_ids}
    for row in await CatalogRepository(session).variant_rows(product_ids):
        variants, available = found[row["product_id"]]
        variants.append(VariantSnapshot.model_validate(row))
        available[row["id"]] = int(row["available"])
    return found


async def _category(repo: CatalogRepository, slug: str) -> Category:
    category = await repo.category_by_slug(slug)
    if category is None:
        raise UnknownCategory(slug)
    return category


async def emit(session: AsyncSession, product: Product, event_type: str) -> Stocked:
    """Announce the product as it now stands (variants included); returns its stock."""
    stock = (await stocked_variants(session, [product.id]))[product.id]
    add_event(session, event_type, product.id, product.version, snapshot(product, stock[0]))
    return stock


SKU_CONFLICTS = ("uq_products_sku", "uq_product_variants_live_sku")


def check_options(declared: Sequence[str], given: Mapping[str, str]) -> None:
    if {name.casefold() for name in given} != {name.casefold() for name in declared} or len(
        given
    ) != len(declared):
        raise OptionsMismatch(list(declared), dict(given))


def option_key(values: Mapping[str, str]) -> str:
    """The canonical form of a combination: what makes two variants "the same"."""
    pairs = sorted((name.casefold(), value.casefold()) for name, value in values.items())
    return ";".join(f"{name}={value}" for name, value in pairs)


def new_product(data: ProductIn, brand: Brand, category: Category) -> Product:
    """A product at version 1, every column set (bulk imports copy them as they are)."""
    now = datetime.now(UTC)
    return Product(
        id=uuid.uuid4(),
        sku=data.sku,
        name=data.name,
        description=data.description,
        brand_id=brand.id,
        brand=brand,
        category_id=category.id,
        category=category,
        price=data.price,
        currency="USD",
        rating=data.rating,
        attributes=data.attributes,
        options=list(data.options),
        version=1,
        created_at=now,
        updated_at=now,
        deleted_at=None,
    )


def new_variant(product: Product, data: VariantIn, position: int) -> Variant:
    return Variant(**variant_values(product, data, position))


def variant_values(product: Product, data: VariantIn, position: int) -> dict[str, Any]:
    """A new variant's columns (bulk imports copy them without building the ORM object)."""
    check_options(product.options, data.options)
    return {
        "id": uuid.uuid4(),
        "product_id": product.id,
        "sku": data.sku,
        "option_values": dict(data.options),
        "option_key": option_key(data.options),
        "price": data.price,
        "position": position,
        "created_at": datetime.now(UTC),
        "deleted_at": None,
    }


def repeated(items: Sequence[str]) -> str | None:
    """The first item given more than once, if any."""
    return next((item for item, count in Counter(items).items() if count > 1), None)


async def create_product(session: AsyncSession, data: ProductIn) -> ProductOut:
    """Add a product and its variants (one default variant without options); announce it."""
    repo = CatalogRepository(session)
    if data.options and not data.variants:
        raise VariantsRequired(data.options)
    variants = data.variants or [VariantIn(sku=data.sku)]
    skus = [variant.sku for variant in variants]
    for sku in dict.fromkeys([data.sku, *skus]):
        if await repo.sku_taken(sku):
            raise SkuTaken(sku)
    if twice := repeated(skus):
        raise SkuTaken(twice)
    brand = await repo.brand_by_name(data.brand)
    product = new_product(data, brand, await _category(repo, data.category))
    session.add(product)
    await flush_unique(session, {"uq_products_sku": SkuTaken(data.sku)})
    rows = [new_variant(product, variant, position) for position, variant in enumerate(variants)]
    if (twice := repeated([row.option_key for row in rows])) is not None:
        raise VariantExists(next(r.option_values for r in rows if r.option_key == twice))
    session.add_all(rows)
    await flush_unique(session, {name: SkuTaken(data.sku) for name in SKU_CONFLICTS})
    return to_out(product, await emit(session, product, "product.created"))


async def update_product(
    session: AsyncSession, product_id: uuid.UUID, patch: ProductPatch
) -> ProductOut:
    """Change a product's fields and announce product.updated (and price.changed later)."""
    repo = CatalogRepository(session)
    product = await repo.get(product_id, for_update=True)
    if product is None:
        raise ProductNotFound(product_id)
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    if "brand" in changes:
        product.brand = await repo.brand_by_name(changes.pop("brand"))
    if "category" in changes:
        product.category = await _category(repo, changes.pop("category"))
    for field, value in changes.items():
        setattr(product, field, value)
    product.version += 1
    product.updated_at = datetime.now(UTC)
    await session.flush()
    return to_out(product, await emit(session, product, "product.updated"))


async def delete_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Retire a product: it leaves browse and search; its history stays for the warehouse."""
    repo = CatalogRepository(session)
    product = await repo.get(product_id, for_update=True)
    if product is None:
        raise ProductNotFound(product_id)
    product.deleted_at = datetime.now(UTC)
    product.version += 1
    await session.flush()
    await emit(session, product, "product.deleted")


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    """One live product with its available stock."""
    repo = CatalogRepository(session)
    product = await repo.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    return to_out(product, (await stocked_variants(session, [product.id]))[product.id])


async def list_products(
    session: AsyncSession, *, category: str | None, brand: str | None, page: int, size: int
) -> Page[ProductOut]:
    """A page of live products, optionally under a category (and its subtree) or of a brand."""
    repo = CatalogRepository(session)
    category_path = None
    if category is not None:
        found = await repo.category_by_slug(category)
        if found is None:
            raise CategoryNotFound(category)
        category_path = found.path
    products, total = await repo.page(
        category_path=category_path, brand_slug=brand, offset=(page - 1) * size, limit=size
    )
    stock = await stocked_variants(session, [p.id for p in products])
    items = [to_out(p, stock[p.id]) for p in products]
    return Page[ProductOut](items=items, total=total, page=page, size=size)


async def browse_products(
    sessions: async_sessionmaker[AsyncSession],
    cache: CatalogCache,
    *,
    category: str | None,
    brand: str | None,
    page: int,
    size: int,
) -> bytes:
    """`list_products` as JSON, through the browse cache (dropped by the worker on changes).

    It opens a session only on a miss: a hit costs no database work.
    """
    params = f"category={category}&brand={brand}&page={page}&size={size}"

    async def load() -> Page[ProductOut]:
        async with sessions() as session:
            return await list_products(
                session, category=category, brand=brand, page=page, size=size
            )

    return await cache.page(params, load)


async def show_product(
    sessions: async_sessionmaker[AsyncSession], cache: CatalogCache, product_id: uuid.UUID
) -> bytes:
    """`get_product` as JSON, through the browse cache (a session only on a miss)."""

    async def load() -> ProductOut:
        async with sessions() as session:
            return await get_product(session, product_id)

    return await cache.item(product_id, load)


async def list_brands(session: AsyncSession) -> list[BrandOut]:
    return [BrandOut(slug=b.slug, name=b.name) for b in await CatalogRepository(session).brands()]


async def list_categories(session: AsyncSession) -> list[CategoryOut]:
    rows = await CatalogRepository(session).categories()
    return [CategoryOut(slug=c.slug, name=c.name, path=c.path, parent=p) for c, p in rows]


async def current_products(
    session: AsyncSession, product_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[ProductSnapshot, dict[uuid.UUID, int]]]:
    """Current state of products with their live variants and each variant's available
    units, deleted products included: for projections."""
    rows = await CatalogRepository(session).snapshot_rows(product_ids)
    stock = await stocked_variants(session, [row["id"] for row in rows])
    return {
        row["id"]: (
            ProductSnapshot.model_validate({**row, "variants": stock[row["id"]][0]}),
            stock[row["id"]][1],
        )
        for row in rows
    }
