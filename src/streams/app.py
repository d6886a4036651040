"""The Faust app: one thin agent per consumer, the outbox relay, and the checkpoint timer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from faust.tables import TableManager
from faust.types import EventT
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import UNKNOWN_TOPIC, Envelope, topic_or_unknown
from search.engine_clients import EngineUnavailable
from streams import checkpoints, kafka_transport, metrics
from streams.catch_up import keep_caught_up
from streams.consumers import Consumer, consume
from streams.dead_letters import DECODER, dead_letter, seq_from_headers
from streams.relay import OutboxRelay

log = logging.getLogger(__name__)

ATTEMPTS = 3
#: The longest wait between tries while the search engine is away.
AWAY_RETRY_MAX_SECONDS = 2.0
Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class StreamSettings:
    kafka_url: str
    partitions: int
    data_dir: Path
    batch_size: int
    batch_seconds: float
    fetch_max_wait_ms: int
    session_timeout: float = 4.0


class TablelessManager(TableManager):
    """Faust's table manager without its fixed one-second pause at start-up.

    We keep no Faust Tables (their changelog dies with the embedded broker; state lives in
    PostgreSQL), yet every worker start, and so every recovery, waited that second.
    """

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


def create_app(
    config: StreamSettings,
    sessions: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
    relay: OutboxRelay | None,
    app_id: str = "storefront-worker",
    *,
    jobs: Sequence[tuple[float, Job]] = (),
) -> faust.App:
    """Wire consumers to topics; the relay runs in the same process when given; each job
    runs every so many seconds."""
    kafka_transport.install(config.fetch_max_wait_ms)
    app = faust.App(
        app_id,
        broker=config.kafka_url,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        store="memory://",
        datadir=str(config.data_dir / "faust"),
        topic_partitions=config.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        # A (re)started worker joins its group in about half the session timeout (FACTS.md).
        broker_session_timeout=config.session_timeout,
        broker_heartbeat_interval=min(0.5, config.session_timeout / 4),
        broker_request_timeout=max(10.0, config.session_timeout * 1.5),
        broker_rebalance_timeout=config.session_timeout,
        TableManager=TablelessManager,
        broker_commit_every=1000,
        broker_commit_interval=0.5,
        # On a revoke Faust clears the agents' queues, then waits for every fetched message
        # to be acked: the cleared ones never are, and the worker hung for good after Apache
        # Kafka came back (faust-streaming#133). Consumers are idempotent (processed_events),
        # so what was cleared is simply fetched again by whoever owns the partition next.
        stream_wait_empty=False,
    )
    batches = BatchHandler(sessions, {c.name: asyncio.Lock() for c in consumers})
    by_topics: dict[tuple[tuple[str, ...], float | None], list[Consumer]] = {}
    for consumer in consumers:
        by_topics.setdefault((consumer.topics, consumer.batch_seconds), []).append(consumer)
    for (topics, _), group in by_topics.items():
        _add_agent(app, config, batches, topics, group)
    if relay is not None:
        app.task(relay.run)

    async def catch_up_from_outbox() -> None:
        await keep_caught_up(
            sessions,
            consumers,
            batches.apply_page,
            batches.holding,
            heal=batches.handle_held,
            delivered=batches.delivered_up_to,
        )

    app.task(catch_up_from_outbox)

    async def advance_checkpoints() -> None:
        async with transaction(sessions) as session:
            for consumer in consumers:
                await checkpoints.advance(session, consumer.name, consumer.topics)

    app.timer(1.0)(advance_checkpoints)
    for seconds, job in jobs:
        app.timer(seconds)(job)
    _announce_assignments(app, {topic for consumer in consumers for topic in consumer.topics})
    return app


def _announce_assignments(app: faust.App, topics: set[str]) -> None:
    """Log the partitions this worker owns after each rebalance (workers sharing a group
    split them; an operator sees who reads what, and tests see the split and the takeover)."""

    @app.on_partitions_assigned.connect
    async def announce(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", set())
        owned = sorted(f"{tp.topic}:{tp.partition}" for tp in assigned if tp.topic in topics)
        log.info("partitions assigned", extra={"partitions": owned, "group": app.conf.id})


@dataclass(frozen=True)
class BatchHandler:
    """Applies batches from either path (broker, outbox catch-up), one at a time per consumer.

    One at a time: the warehouse appends files and must not write one event twice. A broker
    batch takes its consumer's lock; a catch-up holds its consumers' locks until it is done,
    so the broker path waits (Kafka keeps its messages) rather than crawl beside it.
    """

    sessions: async_sessionmaker[AsyncSession]
    locks: dict[str, asyncio.Lock]
    #: Per consumer, a seq up to which everything is applied (moved by catch-up pages).
    applied_through: dict[str, int] = field(default_factory=dict)
    #: Per consumer, the highest seq the broker has handed it, skipped copies included.
    delivered_through: dict[str, int] = field(default_factory=dict)

    async def handle(self, consumer: Consumer, events: list[Envelope]) -> None:
        """A batch from the broker."""
        if events:
            async with self.locks[consumer.name]:
                await handle_batch(self.sessions, consumer, events)

    async def handle_held(self, consumer: Consumer, events: list[Envelope]) -> None:
        """A batch from the outbox, applied like the broker's; the caller holds `holding`."""
        await handle_batch(self.sessions, consumer, events)

    @contextlib.asynccontextmanager
    async def holding(self, group: Sequence[Consumer]) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for name in sorted(consumer.name for consumer in group):
                await stack.enter_async_context(self.locks[name])
            yield

    async def apply_page(self, consumer: Consumer, events: list[Envelope], through: int) -> None:
        """A catch-up page, complete up to `through`; the caller holds `holding`."""
        await handle_batch(self.sessions, consumer, events, through=through)
        done = max(through, self.applied_through.get(consumer.name, 0))
        self.applied_through[consumer.name] = done

    def skippable(self, group: Sequence[Consumer]) -> int:
        """A seq up to which every consumer of `group` has applied everything already."""
        return min(self.applied_through.get(consumer.name, 0) for consumer in group)

    def delivered(self, group: Sequence[Consumer], seqs: Sequence[int]) -> None:
        if seqs:
            for consumer in group:
                seen = self.delivered_through.get(consumer.name, 0)
                self.delivered_through[consumer.name] = max(seen, *seqs)

    def delivered_up_to(self, group: Sequence[Consumer]) -> int:
        """The highest seq the broker has handed every consumer of `group`."""
        return min(self.delivered_through.get(consumer.name, 0) for consumer in group)


def _add_agent(
    app: faust.App,
    config: StreamSettings,
    batches: BatchHandler,
    topics: tuple[str, ...],
    group: list[Consumer],
) -> None:
    """One agent per topic set and batch window: each batch is decoded once and given to
    every consumer of the group (a prompt consumer waits for no slower one's batch).

    (An agent per consumer made Faust deliver and decode each message once per consumer,
    which cost more than the consumers' own work during a backlog.)
    """
    topic = app.topic(*topics, partitions=config.partitions)
    within = group[0].batch_seconds or config.batch_seconds

    async def agent(stream: faust.StreamT[bytes]) -> None:
        async for messages in stream.take_events(  # type: ignore[attr-defined]
            config.batch_size, within=within
        ):
            # After a catch-up from the outbox, the broker's copies are skipped undecoded.
            events = await decode_batch(
                batches.sessions, group, messages, skip_through=batches.skippable(group)
            )
            batches.delivered(group, [s for m in messages if (s := seq_from_headers(m.headers))])
            await asyncio.gather(*(batches.handle(c, events) for c in group))

    app.agent(topic, name="storefront." + "+".join(c.name for c in group))(agent)


def decode(value: bytes) -> Envelope:
    return Envelope.model_validate_json(value)


async def decode_batch(
    sessions: async_sessionmaker[AsyncSession],
    group: Sequence[Consumer],
    messages: Sequence[EventT[bytes]],
    *,
    skip_through: int = 0,
) -> list[Envelope]:
    """Envelopes of a batch; what does not decode is dead-lettered and recorded by its seq.

    The seq travels in a header, so the checkpoints of every consumer of the topic move past
    an undecodable event instead of waiting for it (and re-sending from it) forever. Events
    up to `skip_through` are known applied and left out without decoding.
    """
    events: list[Envelope] = []
    for message in messages:
        seq = seq_from_headers(message.headers)
        if seq is not None and seq <= skip_through:
            continue
        try:
            events.append(decode(message.value))
        except ValidationError as invalid:
            await _dead_letter(
                sessions,
                consumer=DECODER,
                topic=UNKNOWN_TOPIC,
                event=bytes(message.value).decode(errors="replace"),
                error=invalid,
                seq=seq,
                trace_id=None,
                handled_by=[c.name for c in group],
            )
    return events


async def handle_batch(
    sessions: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    events: list[Envelope],
    *,
    through: int | None = None,
) -> None:
    """Apply a batch with bounded retries; isolate what still fails and dead-letter it.

    `through`: the batch is an outbox page complete up to this seq (see `streams.catch_up`).
    """
    if await _attempt(sessions, consumer, events, through) is None:
        return
    for event in events:  # the batch keeps failing: find the event(s) at fault
        error = await _attempt(sessions, consumer, [event])
        if error is not None:
            await _dead_letter(
                sessions,
                consumer=consumer.name,
                topic=topic_or_unknown(event.type),
                event=event.model_dump_json(),
                error=error,
                seq=event.seq,
                trace_id=event.trace_id,
                handled_by=[consumer.name],
            )
    if through is not None:
        async with transaction(sessions) as session:
            await checkpoints.move_to(session, consumer.name, through)


async def _dead_letter(
    sessions: async_sessionmaker[AsyncSession],
    *,
    consumer: str,
    topic: str,
    event: str,
    error: BaseException,
    seq: int | None,
    trace_id: str | None,
    handled_by: Sequence[str],
) -> None:
    """Log, count and keep a dead letter; it is handled in the same transaction as it is kept."""
    log.error(
        "event dead-lettered",
        extra={"consumer": consumer, "topic": topic, "seq": seq, "trace_id": trace_id},
    )
    metrics.DEAD_LETTERED.labels(consumer, topic).inc()
    async with transaction(sessions) as session:
        await dead_letter(
            session,
            consumer=consumer,
            topic=topic,
            event=event,
            error=error,
            seq=seq,
            trace_id=trace_id,
            handled_by=handled_by,
        )


async def _attempt(
    sessions: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    events: list[Envelope],
    through: int | None = None,
) -> Exception | None:
    """None when the events were applied; the last error after ATTEMPTS failures.

    A search engine that is away (restarting, overloaded) is waited for, however long: the
    events are fine, and dead-lettering them would lose the index's updates."""
    attempt, away = 1, 0
    while attempt <= ATTEMPTS:
        try:
            await consume(sessions, consumer, events, through=through)
            return None
        except EngineUnavailable as error:
            away += 1
            log.warning("%s: the search engine is away (%s); retrying", consumer.name, error)
            await asyncio.sleep(min(AWAY_RETRY_MAX_SECONDS, 0.1 * 2 ** min(away, 5)))
        except Exception as error:
            log.exception("%s: attempt %d of %d failed", consumer.name, attempt, ATTEMPTS)
            if attempt == ATTEMPTS:
                return error
            await asyncio.sleep(0.1 * 2**attempt)  # back off before retrying, not to synchronise
            attempt += 1
    raise AssertionError("unreachable")
