"""The stream worker's consumers as plain async functions: agents call them, tests call them.

Every consumer is idempotent. It skips events it has already applied (`processed_events`),
applies the rest, then records them. Search and cache effects are naturally idempotent
(they read current state); the warehouse records its last batch in its manifest, so a crash
between the write and the record cannot append the same rows twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.rows import warehouse_rows
from analytics.warehouse import ParquetWarehouse
from commerce.catalog.cache import CatalogCache
from commerce.catalog.service import current_products
from commerce.db import transaction
from commerce.events import (
    CATALOG_TOPIC,
    INVENTORY_TOPIC,
    USERS_TOPIC,
    Envelope,
    RoleChanged,
)
from commerce.identity.store import IdentityCache
from commerce.outbox import ProcessedEvent, ProjectionCheckpoint
from search.backend import SearchBackend
from search.indexing import affected_products, document
from streams import metrics

log = logging.getLogger(__name__)
#: At most this many trace ids in one log line about a batch.
TRACE_IDS_LOGGED = 50

Apply = Callable[[list[Envelope]], Awaitable[None]]

RECORD = text("""
INSERT INTO processed_events (consumer, seq)
SELECT :consumer, unnest(CAST(:seqs AS bigint[]))
ON CONFLICT DO NOTHING
""")


#: Every consumer of the worker and the topics it reads.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "search": (CATALOG_TOPIC, INVENTORY_TOPIC),
    "warehouse": (CATALOG_TOPIC, INVENTORY_TOPIC),
    "cache": (CATALOG_TOPIC, INVENTORY_TOPIC),
    "permissions": (USERS_TOPIC,),
}


@dataclass(frozen=True)
class Consumer:
    name: str
    topics: tuple[str, ...]
    apply: Apply


async def unseen(
    session: AsyncSession, consumer: str, events: Sequence[Envelope]
) -> list[Envelope]:
    """The events of a batch this consumer has not applied yet, once each, in order."""
    checkpoint = (
        await session.scalar(
            select(ProjectionCheckpoint.seq).where(ProjectionCheckpoint.consumer == consumer)
        )
        or 0
    )
    seqs = [e.seq for e in events if e.seq is not None and e.seq > checkpoint]
    done = set(
        await session.scalars(
            select(ProcessedEvent.seq).where(
                ProcessedEvent.consumer == consumer, ProcessedEvent.seq.in_(seqs)
            )
        )
    )
    fresh: dict[int, Envelope] = {}
    for event in events:
        if event.seq is not None and event.seq > checkpoint and event.seq not in done:
            fresh.setdefault(event.seq, event)
    return list(fresh.values())


async def record_processed(session: AsyncSession, consumer: str, seqs: Sequence[int]) -> None:
    if seqs:
        # One array parameter: a VALUES list of 500 rows costs more to compile than to run.
        await session.execute(RECORD, {"consumer": consumer, "seqs": list(seqs)})


async def consume(
    sessions: async_sessionmaker[AsyncSession], consumer: Consumer, events: Sequence[Envelope]
) -> int:
    """Apply a batch once: skip what was applied, apply the rest, record it. Returns applied."""
    started = time.perf_counter()
    async with transaction(sessions) as session:
        fresh = await unseen(session, consumer.name, events)
    if fresh:
        await consumer.apply(fresh)
    async with transaction(sessions) as session:
        await record_processed(session, consumer.name, [e.seq for e in fresh if e.seq is not None])
    _observe(consumer.name, fresh, time.perf_counter() - started)
    return len(fresh)


def _observe(consumer: str, applied: Sequence[Envelope], seconds: float) -> None:
    metrics.BATCH_SECONDS.labels(consumer).observe(seconds)
    if applied:
        # The trace ids tie these lines to the API requests that caused the events.
        traces = sorted({e.trace_id for e in applied if e.trace_id})
        log.info(
            "applied",
            extra={
                "consumer": consumer,
                "events": len(applied),
                "seqs": [min(seqs), max(seqs)]
                if (seqs := [e.seq for e in applied if e.seq])
                else [],
                "trace_ids": traces[:TRACE_IDS_LOGGED],
                "ms": round(seconds * 1000, 1),
            },
        )
    metrics.APPLIED.labels(consumer).inc(len(applied))
    now = datetime.now(UTC)
    age = metrics.EVENT_AGE.labels(consumer)
    for event in applied:
        age.observe((now - event.occurred_at).total_seconds())


def search_projection(
    sessions: async_sessionmaker[AsyncSession], backend: SearchBackend
) -> Consumer:
    """Keeps product documents (with stock) equal to PostgreSQL's current state."""

    async def apply(events: list[Envelope]) -> None:
        ids = list(affected_products(events))
        async with transaction(sessions) as session:
            current = await current_products(session, ids)
        upserts = [document(p, available) for p, available in current.values() if not p.deleted]
        deletes = [pid for pid in ids if pid not in current or current[pid][0].deleted]
        await backend.apply(upserts, deletes)

    return Consumer("search", SUBSCRIPTIONS["search"], apply)


def cache_invalidation(cache: CatalogCache) -> Consumer:
    """Drops cached browse entries as soon as the catalog or stock changes."""

    async def apply(events: list[Envelope]) -> None:
        await cache.invalidate(affected_products(events))

    return Consumer("cache", SUBSCRIPTIONS["cache"], apply)


def warehouse_writer(warehouse: ParquetWarehouse) -> Consumer:
    """Appends dimension versions and facts to the Parquet warehouse.

    Events of the last batch written are skipped, not written again: the worker may have died
    after the manifest named them and before they were recorded as processed.
    """

    async def apply(events: list[Envelope]) -> None:
        written = set(warehouse.manifest.last_batch_seqs)
        fresh = [e for e in events if e.seq not in written]
        if fresh:
            seqs = [e.seq for e in fresh if e.seq is not None]
            await asyncio.to_thread(warehouse.append, warehouse_rows(fresh), seqs)

    return Consumer("warehouse", SUBSCRIPTIONS["warehouse"], apply)


def role_permission_cache(cache: IdentityCache) -> Consumer:
    """Caches a role's new permissions when it changes, so revocations apply within a second."""

    async def apply(events: list[Envelope]) -> None:
        for event in events:
            if event.type == "role.deleted":
                await cache.forget_role(event.aggregate_id)
            elif event.type.startswith("role."):
                change = RoleChanged.model_validate(event.payload)
                await cache.role_changed(change.name, change.version, change.permissions)

    return Consumer("permissions", SUBSCRIPTIONS["permissions"], apply)
