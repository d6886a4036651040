"""Catching up from PostgreSQL: a consumer far behind reads its backlog from the outbox.

Kafka carries the live tail. A backlog (a bulk import, a worker that was down, a consumer
added later) is read straight from the outbox in pages, each applied as one batch, and the
checkpoint moved to the page's end: no per-event bookkeeping, no broker round trip. The
broker's copies of those events still arrive and are skipped by seq, below the checkpoint.

Only settled rows are read (up to `commerce.outbox.SETTLED_SEQ`, as the checkpoint advance),
so a transaction that took a lower seq and has not committed yet is never jumped over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.events import Envelope
from commerce.outbox import SETTLED_SEQ, ProjectionCheckpoint
from streams.consumers import Consumer

log = logging.getLogger(__name__)

#: Settled outbox rows a consumer must be behind by before it reads them itself.
THRESHOLD = 2_000
#: Events read and applied as one batch.
PAGE = 10_000

BEHIND = text(f"""
SELECT count(*) FROM (
    SELECT 1 FROM outbox
    WHERE seq > :after AND topic = ANY(:topics)
      AND seq <= {SETTLED_SEQ}
    LIMIT :threshold) backlog
""")
PAGE_QUERY = text(f"""
SELECT seq, (event || jsonb_build_object('seq', seq))::text AS message FROM outbox
WHERE seq > :after AND topic = ANY(:topics)
  AND seq <= {SETTLED_SEQ}
ORDER BY seq LIMIT :limit
""")

#: Applies a page: the worker's retrying, dead-lettering batch handler, moving to `through`.
HandlePage = Callable[[Consumer, list[Envelope], int], Awaitable[None]]
#: Keeps the broker path of these consumers waiting while a catch-up runs.
Hold = Callable[[Sequence[Consumer]], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class Page:
    events: list[Envelope]
    #: The highest seq read: every event of the consumer's topics up to it is in the page.
    through: int


async def lowest_checkpoint(session: AsyncSession, consumers: Sequence[Consumer]) -> int:
    names = [consumer.name for consumer in consumers]
    seqs = dict(
        (
            await session.execute(
                select(ProjectionCheckpoint.consumer, ProjectionCheckpoint.seq).where(
                    ProjectionCheckpoint.consumer.in_(names)
                )
            )
        )
        .tuples()
        .all()
    )
    return min(int(seqs.get(name, 0)) for name in names)


async def behind(
    session: AsyncSession, topics: Sequence[str], after: int, *, threshold: int = THRESHOLD
) -> bool:
    """Whether at least `threshold` settled events on `topics` come after `after`."""
    window = {"after": after, "topics": list(topics)}
    return int(await session.scalar(BEHIND, {**window, "threshold": threshold}) or 0) >= threshold


async def backlog_page(
    session: AsyncSession,
    topics: Sequence[str],
    after: int,
    *,
    threshold: int = THRESHOLD,
    size: int = PAGE,
) -> Page | None:
    """The next page of events on `topics` after `after`, or None if fewer than `threshold`."""
    if not await behind(session, topics, after, threshold=threshold):
        return None
    window = {"after": after, "topics": list(topics)}
    rows = (await session.execute(PAGE_QUERY, {**window, "limit": size})).all()
    events: list[Envelope] = []
    for row in rows:
        try:
            events.append(Envelope.model_validate_json(row.message))
        except ValidationError:
            # The page ends before it: the broker path dead-letters it, then moves on.
            return Page(events, row.seq - 1) if events else None
    return Page(events, rows[-1].seq) if rows else None


async def catch_up(
    sessions: async_sessionmaker[AsyncSession],
    group: Sequence[Consumer],
    handle: HandlePage,
    *,
    threshold: int = THRESHOLD,
    size: int = PAGE,
) -> int:
    """Work off the backlog of consumers that read the same topics; returns events read.

    Each page is read once, from the lowest of their checkpoints, and given to all of them;
    a consumer further ahead skips what it has applied. After a full page the settled tail
    is read too, however short: left to the broker path it would wait behind the broker's
    copies of every event caught up here (20 s after a 220,000-event import). A page short
    of full ends the catch-up, so steady traffic cannot keep the broker path waiting.
    """
    read = 0
    while True:
        async with sessions() as session:
            after = await lowest_checkpoint(session, group)
            page = await backlog_page(
                session, group[0].topics, after, threshold=threshold if not read else 1, size=size
            )
        if page is None:
            return read
        await asyncio.gather(*(handle(consumer, page.events, page.through) for consumer in group))
        read += len(page.events)
        log.info(
            "caught up from the outbox",
            extra={
                "consumers": [consumer.name for consumer in group],
                "events": len(page.events),
                "seq": page.through,
            },
        )
        if len(page.events) < size:
            return read


async def keep_caught_up(
    sessions: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
    handle: HandlePage,
    holding: Hold,
    *,
    every: float = 1.0,
) -> None:
    """Forever: look for a backlog every `every` seconds; work it off holding its consumers."""
    groups: dict[tuple[str, ...], list[Consumer]] = {}
    for consumer in consumers:
        groups.setdefault(consumer.topics, []).append(consumer)

    async def one(group: list[Consumer]) -> None:
        try:
            async with sessions() as session:
                after = await lowest_checkpoint(session, group)
                if not await behind(session, group[0].topics, after):
                    return
            async with holding(group):
                await catch_up(sessions, group, handle)
        except Exception:  # the broker path still delivers; try again next round
            log.exception("catching up from the outbox failed")

    while True:
        await asyncio.gather(*(one(group) for group in groups.values()))
        await asyncio.sleep(every)  # a polling interval, not synchronisation
