"""The relay's settled floor and checkpoint advance, on a database of their own.

"Settled" is decided by transactions, not time: a transaction that took a seq and has not
committed holds back everything above it, however long it stays open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from commerce.db import create_engine, libpq_url, session_factory, transaction
from commerce.events import TOPICS, RoleChanged
from commerce.outbox import add_event, settled_seq
from streams import checkpoints
from streams.consumers import record_processed
from streams.relay import OutboxRelay, raised_floor
from tests.conftest import eventually

INSERT = text("""
INSERT INTO outbox (topic, key, event)
SELECT :topic, 'k', '{}'::jsonb FROM generate_series(1, :count) RETURNING seq
""")


@pytest.fixture
async def sessions(fresh_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(fresh_database)
    yield session_factory(engine)
    await engine.dispose()


async def write(session: AsyncSession, count: int, *, topic: str = "catalog") -> list[int]:
    """Outbox rows written in `session`'s transaction; their seqs."""
    rows = (await session.execute(INSERT, {"count": count, "topic": topic})).all()
    return sorted(row.seq for row in rows)


async def committed(
    sessions: async_sessionmaker[AsyncSession], count: int, *, topic: str = "catalog"
) -> list[int]:
    async with transaction(sessions) as session:
        return await write(session, count, topic=topic)


async def advance(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        return await checkpoints.advance(session, "search", ["catalog"])


async def test_a_checkpoint_waits_for_a_gap_and_for_an_open_transaction_below_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await committed(sessions, 10)
    await committed(sessions, 2, topic="users")  # not this consumer's topic
    async with sessions() as open_session, open_session.begin():
        held = (await write(open_session, 1))[0]  # taken, not committed
        later = await committed(sessions, 2)
        async with transaction(sessions) as session:
            await record_processed(session, "search", [*first[:4], *first[5:], *later])

        assert await advance(sessions) == first[4] - 1, "the fifth is not applied: it waits"
        async with transaction(sessions) as session:
            await record_processed(session, "search", [first[4]])
        assert await advance(sessions) == held - 1, "other topics pass; the open one does not"
        await open_session.commit()

    async with transaction(sessions) as session:
        await record_processed(session, "search", [held])
    assert await eventually(lambda: advance(sessions), lambda seq: seq == later[-1])
    async with sessions() as session:
        left = await session.scalar(text("SELECT count(*) FROM processed_events"))
    assert left == 0, "records the checkpoint covers are pruned"


async def test_the_settled_seq_stops_below_a_transaction_still_open_however_long(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def settled() -> int:
        async with sessions() as session:
            return await settled_seq(session)

    before = (await committed(sessions, 3))[-1]
    async with sessions() as open_session, open_session.begin():
        held = await write(open_session, 2)  # a checkout's events, its commit still to come
        after = (await committed(sessions, 2))[-1]
        assert await settled() == held[0] - 1 >= before
        await open_session.commit()
    assert await settled() == after

    async with sessions() as rolled_back, rolled_back.begin():
        await write(rolled_back, 1)
        assert await settled() == after
        await rolled_back.rollback()
    assert await settled() == after, "a rolled-back writer holds nothing back"


ROLE = RoleChanged(name="clerk", permissions=[], version=2)


async def test_a_transactions_events_are_written_as_it_commits_not_held_through_its_waits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A checkout stages order.created, then waits for a hot SKU's stock row: other writers'
    events settle meanwhile, and a rolled-back transaction's staged events are gone."""

    async def settled() -> int:
        async with sessions() as session:
            return await settled_seq(session)

    async def outbox_rows() -> int:
        async with sessions() as session:
            return int(await session.scalar(text("SELECT count(*) FROM outbox")) or 0)

    before = await outbox_rows()
    async with sessions() as checkout, checkout.begin():
        add_event(checkout, "role.updated", "clerk", 2, ROLE)
        await checkout.flush()
        other = (await committed(sessions, 1))[-1]  # committed while the checkout waits
        assert await settled() == other
        await checkout.commit()
    assert await outbox_rows() == before + 2

    async with sessions() as failing:
        add_event(failing, "role.updated", "clerk", 3, ROLE)
        await failing.execute(text("SELECT 1"))
        await failing.rollback()
        await failing.commit()  # begins and commits a transaction of its own
    assert await outbox_rows() == before + 2, "a rolled-back transaction's events are dropped"


def test_the_relay_floor_passes_what_its_claim_could_see_and_published() -> None:
    assert raised_floor(10, settled=50, claimed=[11, 12, 40], limit=500) == 50
    assert raised_floor(10, settled=50, claimed=[11, 12, 13], limit=3) == 13, "rows may follow"
    assert raised_floor(10, settled=12, claimed=[11, 12, 13], limit=3) == 12
    assert raised_floor(60, settled=50, claimed=[], limit=3) == 60, "never back"


NOTHING_WRITTEN = text(
    "INSERT INTO outbox (topic, key, event) SELECT topic, key, event FROM outbox WHERE false"
)


async def test_the_relay_sleeps_until_a_commit_writes_outbox_rows(
    settings: Settings, fresh_database: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    relay = OutboxRelay(
        sessions,
        settings.require("kafka_url"),
        topics=TOPICS,
        partitions=settings.kafka_partitions,
        consumers=[],
        listen_url=libpq_url(fresh_database),  # the database `sessions` writes to
        fallback_seconds=120,  # far past the wait below: only a notification ends it in time
    )
    try:
        await relay.wait_for_rows()  # connects and listens
        sleeping = asyncio.create_task(relay.wait_for_rows())
        async with transaction(sessions) as session:
            # The trigger is per statement: one that writes no row wakes the relay as well,
            # and leaves no event for the running worker.
            await session.execute(NOTHING_WRITTEN)
        await asyncio.wait_for(sleeping, timeout=30)
    finally:
        await relay.close()
