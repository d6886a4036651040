"""Variant use cases: what a merchant adds, changes and retires under a product.

Every change bumps the product's version and announces product.updated with all its live
variants, so search, caches and the warehouse follow from the one event they already read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.errors import (
    LastVariant,
    ProductNotFound,
    SkuTaken,
    VariantExists,
    VariantInStock,
    VariantNotFound,
)
from commerce.catalog.models import Product, Variant
from commerce.catalog.repository import CatalogRepository
from commerce.catalog.schemas import VariantIn, VariantOut, VariantPatch
from commerce.catalog.service import (
    check_options,
    emit,
    new_variant,
    option_key,
    stocked_variants,
    variant_out,
)
from commerce.db import flush_unique
from commerce.events import VariantSnapshot


async def list_variants(session: AsyncSession, product_id: uuid.UUID) -> list[VariantOut]:
    product = await _product(CatalogRepository(session), product_id, for_update=False)
    variants, available = (await stocked_variants(session, [product.id]))[product.id]
    return [variant_out(v, product.price, available.get(v.id, 0)) for v in variants]


async def add_variant(session: AsyncSession, product_id: uuid.UUID, data: VariantIn) -> VariantOut:
    repo = CatalogRepository(session)
    product = await _product(repo, product_id)
    if await repo.sku_taken(data.sku):
        raise SkuTaken(data.sku)
    variant = new_variant(product, data, await repo.next_position(product.id))
    session.add(variant)
    await _flush(session, variant)
    return await _announce(session, product, variant.id)


async def update_variant(
    session: AsyncSession, product_id: uuid.UUID, variant_id: uuid.UUID, patch: VariantPatch
) -> VariantOut:
    repo = CatalogRepository(session)
    product = await _product(repo, product_id)
    variant = await repo.variant(product.id, variant_id, for_update=True)
    if variant is None:
        raise VariantNotFound(variant_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("sku") not in (None, variant.sku):
        if await repo.sku_taken(changes["sku"]):
            raise SkuTaken(changes["sku"])
        variant.sku = changes["sku"]
    if changes.get("options") is not None:
        check_options(product.options, changes["options"])
        variant.option_values = dict(changes["options"])
        variant.option_key = option_key(changes["options"])
    if "price" in changes:  # null removes the override
        variant.price = changes["price"]
    await _flush(session, variant)
    return await _announce(session, product, variant.id)


async def delete_variant(
    session: AsyncSession, product_id: uuid.UUID, variant_id: uuid.UUID
) -> None:
    """Retire a variant with no stock on hand; its ledger stays. A product keeps one."""
    repo = CatalogRepository(session)
    product = await _product(repo, product_id)
    variant = await repo.variant(product.id, variant_id, for_update=True)
    if variant is None:
        raise VariantNotFound(variant_id)
    if await repo.live_variant_count(product.id) <= 1:
        raise LastVariant()
    if (on_hand := await repo.on_hand(variant.id)) > 0:
        raise VariantInStock(variant.sku, on_hand)
    variant.deleted_at = datetime.now(UTC)
    _touch(product)
    await session.flush()
    await emit(session, product, "product.updated")


async def _product(
    repo: CatalogRepository, product_id: uuid.UUID, *, for_update: bool = True
) -> Product:
    """The live product, locked: variant changes of one product apply one at a time."""
    product = await repo.get(product_id, for_update=for_update)
    if product is None:
        raise ProductNotFound(product_id)
    return product


async def _flush(session: AsyncSession, variant: Variant) -> None:
    await flush_unique(
        session,
        {
            "uq_product_variants_live_sku": SkuTaken(variant.sku),
            "uq_product_variants_live_options": VariantExists(variant.option_values),
        },
    )


def _touch(product: Product) -> None:
    product.version += 1
    product.updated_at = datetime.now(UTC)


async def _announce(session: AsyncSession, product: Product, variant_id: uuid.UUID) -> VariantOut:
    _touch(product)
    await session.flush()
    variants, available = await emit(session, product, "product.updated")
    variant: VariantSnapshot = next(v for v in variants if v.id == variant_id)
    return variant_out(variant, product.price, available.get(variant_id, 0))
