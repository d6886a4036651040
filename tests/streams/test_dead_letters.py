"""A poison event is retried, dead-lettered with its error, and does not stop the stream."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.outbox import OutboxRow
from storefront.processes import WorkerProcess
from storefront.settings import Settings
from streams.relay import bootstrap_servers
from tests.conftest import eventually
from tests.factories import create_product, search, word

pytestmark = pytest.mark.usefixtures("reference")


async def test_poison_event_goes_to_the_dead_letter_topic(
    settings: Settings,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker: WorkerProcess,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    marker = word("poison")
    poison: dict[str, Any] = {
        "event_id": "00000000-0000-4000-8000-000000000001",
        "type": "product.updated",
        "occurred_at": "2026-11-25T12:00:00Z",
        "aggregate_id": marker,
        "aggregate_version": 1,
        "payload": {"not": "a product"},
    }
    async with transaction(sessions) as session:
        session.add(OutboxRow(topic="catalog", key=marker, event=poison))

    after = await create_product(client, admin)  # the stream goes on past the poison event
    await eventually(lambda: search(client, q=after["name"]), lambda r: r["total"] == 1, timeout=30)

    consumer = AIOKafkaConsumer(
        "catalog.dlq",
        bootstrap_servers=bootstrap_servers(settings.require("kafka_url")),
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:

        async def dead_letters() -> list[dict[str, Any]]:
            batches = await consumer.getmany(timeout_ms=200)
            found.extend(orjson.loads(m.value) for msgs in batches.values() for m in msgs)
            return found

        found: list[dict[str, Any]] = []
        letters = await eventually(
            dead_letters, lambda got: any(marker in d["event"] for d in got), timeout=30
        )
    finally:
        await asyncio.shield(consumer.stop())
    letter = next(d for d in letters if marker in d["event"])
    assert letter["error"]
