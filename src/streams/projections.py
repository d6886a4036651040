"""The projections: search documents, the warehouse and the caches, kept from events.

Each is a batch consumer (see `streams.consumers`); the handler table says which events
reach it. They stay idempotent on their own, so a batch delivered twice changes nothing.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.compaction import compact_if_many
from analytics.live import LiveCounters, PaidOrder
from analytics.rollups import batch_rows, orders_to_look_up
from analytics.rows import in_dollars
from analytics.warehouse import ParquetWarehouse
from commerce.catalog.cache import CatalogCache
from commerce.catalog.service import current_products
from commerce.db import transaction
from commerce.events import Envelope, RoleChanged
from commerce.identity.store import IdentityCache
from commerce.inventory import alerts
from commerce.inventory import service as inventory
from commerce.notifications.channel import PushChannel
from commerce.notifications.pushes import (
    CUSTOMER_TYPES,
    LOW_STOCK,
    event_pushes,
    low_stock_push,
    order_of,
)
from commerce.orders.reporting import sold_orders, units_sold
from commerce.orders.repository import OrderRepository
from commerce.outbox import add_event
from search.backend import SearchBackend
from search.indexing import affected_products, index_changes
from search.stock import StockIndex, stock_documents
from streams.consumers import (
    BACKGROUND_BATCH_SECONDS,
    PROMPT_BATCH_SECONDS,
    Consumer,
    unapplied,
)

SEARCH, WAREHOUSE, CATALOG_CACHE, PERMISSIONS = "search", "warehouse", "cache", "permissions"
STOCK = "stock"
LIVE, PUSH = "live", "push"


def search_projection(
    sessions: async_sessionmaker[AsyncSession], backend: SearchBackend
) -> Consumer:
    """Keeps product documents (with stock) equal to PostgreSQL's current state."""

    async def apply(events: list[Envelope]) -> None:
        ids = list(affected_products(events))
        async with transaction(sessions) as session:
            current = await current_products(session, ids)
            sold = await units_sold(session, ids)
        await backend.apply(*index_changes(ids, current, sold))

    return Consumer(SEARCH, apply=apply, batch_seconds=PROMPT_BATCH_SECONDS)


def stock_projection(
    sessions: async_sessionmaker[AsyncSession], index: StockIndex, default_line: int
) -> Consumer:
    """Keeps each affected product's stock documents (per variant and warehouse) equal to
    PostgreSQL's stock rows, low-stock lines and last movements."""

    async def apply(events: list[Envelope]) -> None:
        ids = sorted(affected_products(events))
        async with transaction(sessions) as session:
            rows = await inventory.stock_rows(session, ids)
        await index.replace_products(ids, stock_documents(rows, default_line))

    return Consumer(STOCK, apply=apply, batch_seconds=PROMPT_BATCH_SECONDS)


def cache_invalidation(cache: CatalogCache) -> Consumer:
    """Drops cached browse entries as soon as the catalog or stock changes."""

    async def apply(events: list[Envelope]) -> None:
        await cache.invalidate(affected_products(events))

    return Consumer(CATALOG_CACHE, apply=apply, batch_seconds=PROMPT_BATCH_SECONDS)


#: How long the warehouse writer gathers a batch from the broker.
WAREHOUSE_BATCH_SECONDS = 1.0


def warehouse_writer(
    warehouse: ParquetWarehouse,
    sessions: async_sessionmaker[AsyncSession],
    name: str = WAREHOUSE,
) -> Consumer:
    """Appends dimension versions, facts and rollup changes to the Parquet warehouse.

    A paid or refunded order is read from PostgreSQL (its lines, rate and whether it is the
    customer's first): order.confirmed carries only its status.

    Events the manifest names as written are skipped, not written again: the worker may have
    died after writing them and before recording them as processed. The broker may hand them
    back spread over several batches, so seqs stay in the manifest until PostgreSQL shows
    them recorded (or passed by the checkpoint), not just until the next batch.
    """

    async def apply(events: list[Envelope]) -> None:
        written = set(warehouse.manifest.unconfirmed_seqs)
        fresh = [e for e in events if e.seq not in written]
        if not fresh:
            return
        async with sessions() as session:
            still = await unapplied(session, name, sorted(written))
            orders = await sold_orders(session, orders_to_look_up(fresh))
        seqs = [e.seq for e in fresh if e.seq is not None] + sorted(still)
        await asyncio.to_thread(warehouse.append, batch_rows(fresh, orders), seqs)
        await asyncio.to_thread(compact_if_many, warehouse)

    # Each batch is a Parquet file, fsynced, and a manifest: gathered for a second, a busy
    # checkout writes one file a second, not twenty (dashboards' live numbers come from Redis).
    return Consumer(name, apply=apply, batch_seconds=WAREHOUSE_BATCH_SECONDS)


def role_permission_cache(cache: IdentityCache) -> Consumer:
    """Caches a role's new permissions when it changes, so revocations apply within a second."""

    async def apply(events: list[Envelope]) -> None:
        for event in events:
            if event.type == "role.deleted":
                await cache.forget_role(event.aggregate_id)
            elif event.type.startswith("role."):
                change = RoleChanged.model_validate(event.payload)
                await cache.role_changed(change.name, change.version, change.permissions)

    return Consumer(PERMISSIONS, apply=apply)


def live_counters(counters: LiveCounters, sessions: async_sessionmaker[AsyncSession]) -> Consumer:
    """Counts each paid order once in the realtime dashboard's counters and feed."""

    async def apply(events: list[Envelope]) -> None:
        paid = [e for e in events if e.type == "order.confirmed"]
        async with sessions() as session:
            orders = await sold_orders(session, [e.aggregate_id for e in paid])
        for event in paid:
            if (order := orders.get(event.aggregate_id)) is None:
                continue
            await counters.paid(
                PaidOrder(
                    order_id=event.aggregate_id,
                    customer_id=str(order.customer_id),
                    currency=order.currency,
                    total=order.total,
                    total_usd=in_dollars(order.total, order.rate),
                    units=sum(line.quantity for line in order.lines),
                    paid_at=event.occurred_at,
                )
            )

    return Consumer(LIVE, apply=apply, batch_seconds=BACKGROUND_BATCH_SECONDS)


def pushes(
    sessions: async_sessionmaker[AsyncSession], channel: PushChannel, alert_below: int
) -> Consumer:
    """Pushes each order and payment change to its customer (and staff), and each SKU that
    falls below its low-stock line to staff, once per crossing."""

    async def apply(events: list[Envelope]) -> None:
        orders = {o for e in events if e.type in CUSTOMER_TYPES and (o := order_of(e))}
        async with transaction(sessions) as session:
            customers = await OrderRepository(session).customers(orders)
            crossed = await alerts.crossings(session, events, alert_below)
            for crossing in crossed:
                # Staff who chose low-stock emails hear of it from the notify step.
                add_event(session, LOW_STOCK, crossing.sku, 1, crossing)
            # Published before the alerts are recorded: if the commit fails the batch comes
            # again and may push twice (same event id), but an alert is never lost.
            await channel.publish(
                [*event_pushes(events, customers), *(low_stock_push(c) for c in crossed)]
            )

    return Consumer(PUSH, apply=apply, batch_seconds=PROMPT_BATCH_SECONDS)
