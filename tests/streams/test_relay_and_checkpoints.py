"""The relay's settled floor and checkpoint advance, on a database of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import create_engine, session_factory, transaction
from streams import checkpoints
from streams.consumers import record_processed
from streams.relay import SETTLE_SECONDS, OutboxRelay

INSERT = text("""
INSERT INTO outbox (seq, topic, key, event, created_at)
SELECT s, :topic, 'k', '{}'::jsonb, clock_timestamp() - make_interval(secs => :age)
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) s
""")


@pytest.fixture
async def sessions(fresh_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database)
    yield session_factory(engine)
    await engine.dispose()


async def add_rows(
    sessions: async_sessionmaker[AsyncSession], first: int, last: int, *, age: float, topic: str
) -> None:
    async with transaction(sessions) as session:
        await session.execute(INSERT, {"first": first, "last": last, "age": age, "topic": topic})


async def advance(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        return await checkpoints.advance(session, "search", ["catalog"])


async def test_a_checkpoint_stops_before_a_gap_and_moves_when_it_fills(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_rows(sessions, 1, 10, age=60, topic="catalog")
    await add_rows(sessions, 11, 12, age=60, topic="users")  # not this consumer's topic
    await add_rows(sessions, 13, 14, age=0, topic="catalog")  # not settled yet
    async with transaction(sessions) as session:
        await record_processed(session, "search", [1, 2, 3, 4, 6, 7, 8, 9, 10, 13, 14])

    assert await advance(sessions) == 4, "5 is not applied: the checkpoint waits for it"

    async with transaction(sessions) as session:
        await record_processed(session, "search", [5])
    assert await advance(sessions) == 12, "other topics pass; unsettled rows do not"
    async with sessions() as session:
        left = await session.scalar(
            text("SELECT array_agg(seq ORDER BY seq) FROM processed_events")
        )
    assert left == [13, 14], "records the checkpoint covers are pruned"


async def test_the_relay_floor_passes_only_settled_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    relay = OutboxRelay(sessions, "kafka://127.0.0.1:1", topics=[], partitions=1, consumers=[])
    async with sessions() as session:
        now = await session.scalar(text("SELECT clock_timestamp()"))
        relay.unsettled.extend(
            [
                (7, now - timedelta(seconds=SETTLE_SECONDS + 5)),
                (9, now - timedelta(seconds=SETTLE_SECONDS + 1)),
                (12, now),  # a transaction holding a lower seq may not have committed yet
            ]
        )
        await relay._raise_floor(session)
    assert relay.floor == 9
    assert [seq for seq, _ in relay.unsettled] == [12]
