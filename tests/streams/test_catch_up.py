"""A consumer far behind reads its backlog from the outbox: once each, in order, page by page,
moving its checkpoint instead of recording each event, and never past an unsettled row.

Rows here go to a topic of their own and are written as already published, so the session's
relay and worker never see them.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import Envelope
from commerce.outbox import OutboxRow, ProcessedEvent, ProjectionCheckpoint
from streams.app import BatchHandler, decode_batch, handle_batch
from streams.catch_up import (
    STUCK_SECONDS,
    THRESHOLD,
    ParsedEvents,
    catch_up,
    heal_stuck,
    keep_caught_up,
)
from streams.consumers import Consumer, record_processed
from streams.relay import SEQ_HEADER
from tests.conftest import eventually


def a_topic() -> str:
    return f"catch-up-{uuid.uuid4().hex[:8]}"


def recorder(topic: str, applied: list[int]) -> Consumer:
    """A projection that counts every event it is given (the warehouse is not idempotent)."""

    async def apply(events: list[Envelope]) -> None:
        applied.extend(e.seq for e in events if e.seq is not None)

    return Consumer(
        f"recorder-{uuid.uuid4().hex[:8]}",
        apply=apply,
        topics=(topic,),
        types=frozenset({"product.updated"}),
    )


async def write(
    sessions: async_sessionmaker[AsyncSession],
    topic: str,
    count: int,
    *,
    body: dict[str, Any] | None = None,
    session: AsyncSession | None = None,
) -> list[int]:
    """`count` published outbox rows on `topic`, committed (or left in `session`); seqs."""
    now = datetime.now(UTC)
    rows = [
        OutboxRow(
            topic=topic,
            key="k",
            event=body
            or {
                "type": "product.updated",
                "aggregate_id": str(uuid.uuid4()),
                "aggregate_version": 1,
                "payload": {},
            },
            published_at=now,
        )
        for _ in range(count)
    ]
    if session is not None:
        session.add_all(rows)
        await session.flush()
    else:
        async with transaction(sessions) as committing:
            committing.add_all(rows)
    return [row.seq for row in rows]


async def checkpoint(sessions: async_sessionmaker[AsyncSession], consumer: Consumer) -> int:
    async with sessions() as session:
        seq = await session.scalar(
            select(ProjectionCheckpoint.seq).where(ProjectionCheckpoint.consumer == consumer.name)
        )
    return int(seq or 0)


async def recorded(sessions: async_sessionmaker[AsyncSession], consumer: Consumer) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ProcessedEvent)
            .where(ProcessedEvent.consumer == consumer.name)
        )
    return int(count or 0)


def handler(sessions: async_sessionmaker[AsyncSession]) -> Any:
    async def handle(consumer: Consumer, events: list[Envelope], through: int) -> None:
        await handle_batch(sessions, consumer, events, through=through)

    return handle


async def test_a_backlog_is_applied_once_in_order_and_the_checkpoint_moves_past_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    seqs = await write(sessions, topic, 30)

    read = await catch_up(sessions, [consumer], handler(sessions), threshold=10, size=7)

    # Pages of 7, then the settled tail of 2 (not left behind the broker's copies), then done.
    assert read == 30
    assert applied == seqs
    assert await checkpoint(sessions, consumer) == seqs[-1]
    assert await recorded(sessions, consumer) == 0  # no per-event bookkeeping


async def test_a_short_page_ends_the_catch_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Rows that settle after a short page wait for the next round (or the broker path)."""
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    seqs = await write(sessions, topic, 12)
    pages = list[int]()

    async def handle(consumer: Consumer, events: list[Envelope], through: int) -> None:
        pages.append(len(events))
        await handler(sessions)(consumer, events, through)
        if len(pages) == 2:
            await write(sessions, topic, 3)  # arrives (settled) after the short page

    read = await catch_up(sessions, [consumer], handle, threshold=10, size=7)

    assert (read, pages) == (12, [7, 5])
    assert applied == seqs


async def test_a_consumer_within_the_threshold_reads_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    await write(sessions, topic, 9)

    assert await catch_up(sessions, [consumer], handler(sessions), threshold=10) == 0
    assert applied == []
    assert await checkpoint(sessions, consumer) == 0


async def test_rows_above_a_transaction_still_open_are_left_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A lower seq may still be committing, however long: the checkpoint never jumps it."""
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    settled = await write(sessions, topic, 12)
    async with sessions() as open_session, open_session.begin():
        await write(sessions, topic, 1, session=open_session)
        await write(sessions, topic, 12)

        await catch_up(sessions, [consumer], handler(sessions), threshold=10, size=100)

    assert applied == settled
    assert await checkpoint(sessions, consumer) == settled[-1]


async def test_events_the_broker_path_applied_are_not_applied_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    seqs = await write(sessions, topic, 20)
    async with transaction(sessions) as session:
        await record_processed(session, consumer.name, seqs[5:10])

    await catch_up(sessions, [consumer], handler(sessions), threshold=10, size=100)

    assert applied == seqs[:5] + seqs[10:]
    assert await checkpoint(sessions, consumer) == seqs[-1]
    assert await recorded(sessions, consumer) == 0  # pruned below the checkpoint


async def test_consumers_of_one_topic_share_a_page_from_the_lowest_checkpoint(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, behind, ahead = a_topic(), list[int](), list[int]()
    slow, fast = recorder(topic, behind), recorder(topic, ahead)
    seqs = await write(sessions, topic, 20)
    handle = handler(sessions)
    await handle(fast, [], seqs[9])  # `fast` has applied the first ten already

    await catch_up(sessions, [slow, fast], handle, threshold=10, size=100)

    assert behind == seqs
    assert ahead == seqs[10:]
    assert await checkpoint(sessions, slow) == await checkpoint(sessions, fast) == seqs[-1]


async def test_groups_of_other_topics_reading_the_same_events_share_each_parsed_event(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic = a_topic()
    seqs = await write(sessions, topic, 12)
    given: dict[str, list[Envelope]] = {}

    def keeper(topics: tuple[str, ...]) -> Consumer:
        name = f"keeper-{uuid.uuid4().hex[:8]}"

        async def apply(events: list[Envelope]) -> None:
            given.setdefault(name, []).extend(events)

        return Consumer(name, apply=apply, topics=topics, types=frozenset({"product.updated"}))

    narrow, wide = keeper((topic,)), keeper((topic, a_topic()))
    parsed = ParsedEvents()
    for group in ([narrow], [wide]):
        await catch_up(sessions, group, handler(sessions), threshold=10, size=100, parsed=parsed)

    first, second = given[narrow.name], given[wide.name]
    assert [e.seq for e in first] == [e.seq for e in second] == seqs
    assert all(mine is theirs for mine, theirs in zip(first, second, strict=True))


async def test_a_page_ends_before_an_event_that_does_not_decode(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The broker path dead-letters it; the checkpoint must not pass it unseen."""
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    good = await write(sessions, topic, 10)
    poison = await write(sessions, topic, 1, body={"type": "product.updated"})
    await write(sessions, topic, 10)

    await catch_up(sessions, [consumer], handler(sessions), threshold=5, size=100)

    assert applied == good
    assert await checkpoint(sessions, consumer) == poison[0] - 1


class Message:
    def __init__(self, seq: int, value: bytes) -> None:
        self.headers = {SEQ_HEADER: str(seq).encode()}
        self.value = value


async def test_broker_copies_of_caught_up_events_are_skipped_without_decoding(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    batches = BatchHandler(sessions, {consumer.name: asyncio.Lock()})
    await batches.apply_page(consumer, [], through=100)
    later = Envelope(type="product.updated", aggregate_id="a", aggregate_version=1, payload={})
    messages: Any = [
        Message(99, b"not even JSON: never decoded"),
        Message(101, later.model_copy(update={"seq": 101}).model_dump_json().encode()),
    ]

    events = await decode_batch(
        sessions,
        [consumer],
        messages,
        skip_through=batches.skippable([consumer]),
    )

    assert [e.seq for e in events] == [101]


async def test_a_broker_batch_waits_while_a_catch_up_holds_its_consumer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    seqs = await write(sessions, topic, 1)
    event = Envelope(type="product.updated", aggregate_id="a", aggregate_version=1, payload={})
    batches = BatchHandler(sessions, {consumer.name: asyncio.Lock()})

    async with batches.holding([consumer]):
        broker_batch = asyncio.create_task(
            batches.handle(consumer, [event.model_copy(update={"seq": seqs[0]})])
        )
        await batches.apply_page(consumer, [], through=seqs[0] - 1)
        assert not broker_batch.done() and applied == []
    await asyncio.wait_for(broker_batch, timeout=30)

    assert applied == seqs


async def test_events_the_broker_lost_are_applied_from_the_outbox_once_they_are_old(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A partition handed over while a worker died mid-batch can leave an event nobody
    applies; after STUCK_SECONDS it is applied from the outbox, once."""
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    seqs = await write(sessions, topic, 4)
    async with transaction(sessions) as session:
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.seq.in_(seqs[:3]))
            .values(created_at=func.now() - timedelta(seconds=STUCK_SECONDS * 2))
        )
        await record_processed(session, consumer.name, [seqs[1]])  # the broker brought it
    batches = BatchHandler(sessions, {consumer.name: asyncio.Lock()})

    healed = await heal_stuck(sessions, [consumer], batches.handle_held, batches.holding)

    assert (healed, applied) == (2, [seqs[0], seqs[2]]), "old and unapplied only, in order"
    assert await heal_stuck(sessions, [consumer], batches.handle_held, batches.holding) == 0
    assert applied == [seqs[0], seqs[2]]


async def test_after_a_backlog_a_short_tail_is_read_from_the_outbox_until_the_broker_has_caught_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The broker still owes the group the copies of the backlog: a few new events would
    wait behind them, so they are read from the outbox too."""
    topic, applied = a_topic(), list[int]()
    consumer = recorder(topic, applied)
    batches = BatchHandler(sessions, {consumer.name: asyncio.Lock()})
    backlog = await write(sessions, topic, THRESHOLD)
    keeping = asyncio.create_task(
        keep_caught_up(
            sessions,
            [consumer],
            batches.apply_page,
            batches.holding,
            every=0.05,
            delivered=batches.delivered_up_to,
        )
    )
    try:
        await eventually(lambda: checkpoint(sessions, consumer), lambda seq: seq >= backlog[-1])
        tail = await write(sessions, topic, 3)  # far fewer than a backlog

        await eventually(lambda: checkpoint(sessions, consumer), lambda seq: seq >= tail[-1])
    finally:
        keeping.cancel()
    assert applied == [*backlog, *tail], "each once, in order, none from the broker"
    assert batches.delivered_up_to([consumer]) == 0
