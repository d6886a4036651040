"""Catalog use cases. Services stage changes and events; the caller's unit of work commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog.cache import CatalogCache
from commerce.catalog.errors import CategoryNotFound, ProductNotFound, SkuTaken, UnknownCategory
from commerce.catalog.models import Category, Product
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.schemas import (
    BrandOut,
    CategoryOut,
    Page,
    ProductIn,
    ProductOut,
    ProductPatch,
)
from commerce.db import flush_unique
from commerce.events import ProductSnapshot
from commerce.outbox import add_event


def snapshot(product: Product) -> ProductSnapshot:
    """The event payload for a product as it now stands."""
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
    )


def to_out(product: Product, available: int) -> ProductOut:
    return ProductOut(
        **snapshot(product).model_dump(exclude={"deleted"}),
        available=available,
        in_stock=available > 0,
        updated_at=product.updated_at,
    )


async def _category(repo: CatalogRepository, slug: str) -> Category:
    category = await repo.category_by_slug(slug)
    if category is None:
        raise UnknownCategory(slug)
    return category


def _emit(session: AsyncSession, product: Product, event_type: str) -> None:
    add_event(session, event_type, product.id, product.version, snapshot(product))


async def create_product(session: AsyncSession, data: ProductIn) -> ProductOut:
    """Add a product to the catalog and announce product.created."""
    repo = CatalogRepository(session)
    if await repo.sku_taken(data.sku):
        raise SkuTaken(data.sku)
    product = Product(
        id=uuid.uuid4(),
        sku=data.sku,
        name=data.name,
        description=data.description,
        brand=await repo.brand_by_name(data.brand),
        category=await _category(repo, data.category),
        price=data.price,
        rating=data.rating,
        attributes=data.attributes,
        version=1,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    session.add(product)
    await flush_unique(session, {"uq_products_sku": SkuTaken(data.sku)})
    _emit(session, product, "product.created")
    return to_out(product, available=0)


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
    _emit(session, product, "product.updated")
    available = (await repo.availability([product.id])).get(product.id, 0)
    return to_out(product, available)


async def delete_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Retire a product: it leaves browse and search; its history stays for the warehouse."""
    repo = CatalogRepository(session)
    product = await repo.get(product_id, for_update=True)
    if product is None:
        raise ProductNotFound(product_id)
    product.deleted_at = datetime.now(UTC)
    product.version += 1
    await session.flush()
    _emit(session, product, "product.deleted")


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    """One live product with its available stock."""
    repo = CatalogRepository(session)
    product = await repo.get(product_id)
    if product is None:
        raise ProductNotFound(product_id)
    available = (await repo.availability([product.id])).get(product.id, 0)
    return to_out(product, available)


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
    available = await repo.availability([p.id for p in products])
    items = [to_out(p, available.get(p.id, 0)) for p in products]
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
) -> dict[uuid.UUID, tuple[ProductSnapshot, int]]:
    """Current state and availability of products, deleted ones included: for projections."""
    rows = await CatalogRepository(session).snapshot_rows(product_ids)
    return {row["id"]: (ProductSnapshot.model_validate(row), int(row["available"])) for row in rows}
