"""Catalog use cases on the real database: each change and its event commit together."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.catalog import service
from commerce.catalog.errors import CategoryNotFound, ProductNotFound, UnknownCategory
from commerce.catalog.schemas import ProductIn, ProductPatch
from commerce.db import transaction
from commerce.outbox import OutboxRow

pytestmark = pytest.mark.usefixtures("reference")


def new_product(**fields: object) -> ProductIn:
    values: dict[str, object] = {
        "sku": f"SVC-{uuid.uuid4().hex[:10]}",
        "name": "Service Lamp",
        "brand": f"Brand {uuid.uuid4().hex[:6]}",
        "category": "lighting",
        "price": Decimal("25.00"),
        **fields,
    }
    return ProductIn.model_validate(values)


async def events_of(sessions: async_sessionmaker[AsyncSession], product_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.key == product_id).order_by(OutboxRow.seq)
        )
        return [row.event["type"] for row in rows]


async def test_create_update_delete_each_announce_their_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        created = await service.create_product(session, new_product())
    async with transaction(sessions) as session:
        updated = await service.update_product(
            session, created.id, ProductPatch(price=Decimal("19.99"))
        )
    async with transaction(sessions) as session:
        await service.delete_product(session, created.id)

    assert (created.version, updated.version) == (1, 2)
    assert updated.price == Decimal("19.99") and updated.name == created.name
    assert await events_of(sessions, str(created.id)) == [
        "product.created",
        "product.updated",
        "product.deleted",
    ]
    async with sessions() as session:
        with pytest.raises(ProductNotFound):
            await service.get_product(session, created.id)


async def test_a_rolled_back_change_leaves_no_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    data = new_product()
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as session:
            created = await service.create_product(session, data)
            raise RuntimeError("the request failed after the write")
    assert await events_of(sessions, str(created.id)) == []


async def test_browse_includes_a_category_subtree_and_refuses_unknown_ones(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    brand = f"Brand {uuid.uuid4().hex[:6]}"
    async with transaction(sessions) as session:
        await service.create_product(session, new_product(brand=brand, category="lighting"))
        await service.create_product(session, new_product(brand=brand, category="kitchen"))
        with pytest.raises(UnknownCategory):
            await service.create_product(session, new_product(category="no-such-category"))
    brand_slug = brand.lower().replace(" ", "-")
    async with sessions() as session:
        home = await service.list_products(
            session, category="home", brand=brand_slug, page=1, size=10
        )
        lighting = await service.list_products(
            session, category="lighting", brand=brand_slug, page=1, size=10
        )
        with pytest.raises(CategoryNotFound):
            await service.list_products(session, category="nope", brand=None, page=1, size=10)
    assert home.total == 2 and lighting.total == 1
