"""The Faust app: one thin agent per consumer, the outbox relay, and the checkpoint timer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faust
import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import TOPIC_BY_PREFIX, Envelope
from streams import checkpoints, kafka_transport
from streams.consumers import Consumer, consume, record_processed
from streams.relay import OutboxRelay

log = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass(frozen=True)
class StreamSettings:
    kafka_url: str
    partitions: int
    data_dir: Path
    batch_size: int
    batch_seconds: float
    fetch_max_wait_ms: int


def create_app(
    config: StreamSettings,
    sessions: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
    relay: OutboxRelay | None,
) -> faust.App:
    """Wire consumers to topics; the relay runs in the same process when given."""
    kafka_transport.install(config.fetch_max_wait_ms)
    app = faust.App(
        "storefront-worker",
        broker=config.kafka_url,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        store="memory://",
        datadir=str(config.data_dir / "faust"),
        topic_partitions=config.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=4.0,
        broker_heartbeat_interval=0.5,
        broker_request_timeout=10.0,
        broker_rebalance_timeout=4.0,
        broker_commit_every=1000,
        broker_commit_interval=0.5,
    )
    by_topics: dict[tuple[str, ...], list[Consumer]] = {}
    for consumer in consumers:
        by_topics.setdefault(consumer.topics, []).append(consumer)
    for topics, group in by_topics.items():
        _add_agent(app, config, sessions, topics, group)
    if relay is not None:
        app.task(relay.run)

    async def advance_checkpoints() -> None:
        async with transaction(sessions) as session:
            for consumer in consumers:
                await checkpoints.advance(session, consumer.name, consumer.topics)

    app.timer(1.0)(advance_checkpoints)
    return app


def _add_agent(
    app: faust.App,
    config: StreamSettings,
    sessions: async_sessionmaker[AsyncSession],
    topics: tuple[str, ...],
    group: list[Consumer],
) -> None:
    """One agent per topic set: each batch is decoded once and given to every consumer.

    (An agent per consumer made Faust deliver and decode each message once per consumer,
    which cost more than the consumers' own work during a backlog.)
    """
    topic = app.topic(*topics, partitions=config.partitions)

    async def agent(stream: faust.StreamT[bytes]) -> None:
        async for values in stream.take(config.batch_size, within=config.batch_seconds):
            events = await decode_batch(app, list(values))
            await asyncio.gather(*(handle_batch(app, sessions, c, events) for c in group))

    app.agent(topic, name="storefront." + "+".join(c.name for c in group))(agent)


def decode(value: bytes) -> Envelope:
    return Envelope.model_validate_json(value)


async def decode_batch(app: faust.App, values: list[bytes]) -> list[Envelope]:
    """Envelopes of a batch; what does not decode goes to `unknown.dlq`."""
    events: list[Envelope] = []
    for value in values:
        try:
            events.append(decode(value))
        except ValidationError as invalid:
            await _dead_letter(app, "unknown", value, invalid)
    return events


async def handle_batch(
    app: faust.App,
    sessions: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    events: list[Envelope],
) -> None:
    """Apply a batch with bounded retries; isolate what still fails and dead-letter it."""
    if await _attempt(sessions, consumer, events) is None:
        return
    for event in events:  # the batch keeps failing: find the event(s) at fault
        error = await _attempt(sessions, consumer, [event])
        if error is not None:
            topic = TOPIC_BY_PREFIX.get(event.type.split(".", 1)[0], "unknown")
            await _dead_letter(app, topic, event.model_dump_json().encode(), error)
            # Dead-lettered is handled: the checkpoint must not wait for it forever.
            async with transaction(sessions) as session:
                await record_processed(session, consumer.name, [event.seq or 0])


async def _attempt(
    sessions: async_sessionmaker[AsyncSession], consumer: Consumer, events: list[Envelope]
) -> Exception | None:
    """None when the events were applied; the last error after ATTEMPTS failures."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await consume(sessions, consumer, events)
            return None
        except Exception as error:
            log.exception("%s: attempt %d of %d failed", consumer.name, attempt, ATTEMPTS)
            if attempt == ATTEMPTS:
                return error
            await asyncio.sleep(0.1 * 2**attempt)  # back off before retrying, not to synchronise
    raise AssertionError("unreachable")


async def _dead_letter(app: faust.App, topic: str, value: bytes, error: Exception) -> None:
    body = orjson.dumps({"event": value.decode(errors="replace"), "error": repr(error)})
    await app.producer.send(
        f"{topic}.dlq", key=None, value=body, partition=None, timestamp=None, headers=None
    )
