"""A poison event is retried, dead-lettered with its error, and does not stop the stream."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from commerce.db import transaction
from commerce.events import Envelope
from commerce.notifications.channel import PushChannel
from commerce.notifications.pushes import Push
from commerce.outbox import DeadLetter, OutboxRow, ProcessedEvent, ProjectionCheckpoint
from storefront.processes import WorkerProcess
from streams.app import handle_batch
from streams.consumers import Consumer
from streams.dead_letters import dead_letter_alerts
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


async def test_a_dead_letter_is_kept_in_the_transaction_that_marks_the_event_handled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Before, the event counted as handled once a producer had only queued its dead letter."""
    consumer_name = f"test-{uuid.uuid4().hex[:8]}"
    seq = 10**12 + uuid.uuid4().int % 10**9

    async def always_fails(events: list[Envelope]) -> None:
        raise RuntimeError("the projection is broken")

    consumer = Consumer(
        consumer_name,
        apply=always_fails,
        topics=("catalog",),
        types=frozenset({"product.updated"}),
    )
    event = Envelope(
        type="product.updated",
        aggregate_id=str(uuid.uuid4()),
        aggregate_version=1,
        payload={},
        seq=seq,
        trace_id="trace-dead-letter",
    )
    await handle_batch(sessions, consumer, [event])

    async with sessions() as session:
        letter = await session.scalar(select(DeadLetter).where(DeadLetter.seq == seq))
        handled = await session.scalar(
            select(ProcessedEvent.seq).where(
                ProcessedEvent.consumer == consumer_name, ProcessedEvent.seq == seq
            )
        )
        outbox = (
            await session.scalars(
                select(OutboxRow).where(
                    OutboxRow.topic == "catalog.dlq",
                    OutboxRow.event["event_seq"].astext == str(seq),
                )
            )
        ).all()
    assert letter is not None and "the projection is broken" in letter.error
    assert (letter.consumer, letter.topic, letter.trace_id) == (
        consumer_name,
        "catalog",
        "trace-dead-letter",
    )
    assert handled == seq
    assert len(outbox) == 1 and outbox[0].event["consumer"] == consumer_name


async def test_an_undecodable_event_is_recorded_by_its_seq_so_checkpoints_pass_it(
    worker: WorkerProcess, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The seq travels in a header: every consumer of the topic records the event as handled."""
    async with transaction(sessions) as session:
        row = OutboxRow(topic="catalog", key="garbage", event={"not": "an envelope"})
        session.add(row)
        await session.flush()
        seq = row.seq

    async def letter() -> DeadLetter | None:
        async with sessions() as session:
            found: DeadLetter | None = await session.scalar(
                select(DeadLetter).where(DeadLetter.seq == seq)
            )
            return found

    kept = await eventually(letter, lambda found: found is not None, timeout=60)
    assert kept is not None and (kept.consumer, kept.topic) == ("decoder", "unknown")

    async def handled_by() -> set[str]:
        async with sessions() as session:
            processed = set(
                await session.scalars(
                    select(ProcessedEvent.consumer).where(ProcessedEvent.seq == seq)
                )
            )
            passed = set(
                await session.scalars(
                    select(ProjectionCheckpoint.consumer).where(ProjectionCheckpoint.seq >= seq)
                )
            )
        return processed | passed

    consumers = await eventually(
        handled_by, lambda names: {"search", "warehouse", "cache"} <= names, timeout=60
    )
    assert {"search", "warehouse", "cache"} <= consumers


async def test_staff_are_pushed_each_new_dead_letter_once(
    sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> None:
    # A stream and watermark of its own: the test worker's job alerts on the shared ones.
    own = f"test-{uuid.uuid4().hex[:8]}"
    channel = PushChannel(redis, name=own)
    alert = dead_letter_alerts(sessions, channel, alerted=f"{own}:alerted")

    async def letter(error: str) -> None:
        async with transaction(sessions) as session:
            session.add(
                DeadLetter(consumer="push", topic="orders", seq=None, event="{}", error=error)
            )

    await letter("before the first run: on the dashboard already")
    await alert()  # remembers where the dead letters are
    start = (await channel.publish([Push(type="marker", data={})]))[0]
    await letter("new")
    await alert()
    await alert()  # nothing new: nothing pushed

    pushed, _ = await channel.since(start)
    letters = [p for p in pushed if p.type == "dead_letter.recorded"]
    assert [p.data["error"] for p in letters] == ["new"]
    assert letters[0].staff and letters[0].customer_id is None
