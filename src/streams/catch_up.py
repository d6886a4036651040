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
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.events import Envelope
from commerce.outbox import SETTLED_SEQ, ProjectionCheckpoint
from streams import metrics
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

#: Events older than this that a consumer has not applied, with its checkpoint stuck before
#: them, were lost on the way (a partition handed over while a worker died mid-batch): they
#: are applied from the outbox.
STUCK_SECONDS = 10.0
#: At most this many such events are applied per round.
STUCK_PAGE = 500
STUCK = text(f"""
SELECT o.seq, (o.event || jsonb_build_object('seq', o.seq))::text AS message FROM outbox o
WHERE o.seq > coalesce(
        (SELECT seq FROM projection_checkpoints WHERE consumer = :consumer), 0)
  AND o.topic = ANY(:topics)
  AND o.seq <= {SETTLED_SEQ}
  AND o.created_at < clock_timestamp() - make_interval(secs => :age)
  AND NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.consumer = :consumer AND p.seq = o.seq)
ORDER BY o.seq LIMIT :limit
""")

#: Applies a page: the worker's retrying, dead-lettering batch handler, moving to `through`.
HandlePage = Callable[[Consumer, list[Envelope], int], Awaitable[None]]
#: Applies events as the broker path does (skipping what is applied already).
HandleEvents = Callable[[Consumer, list[Envelope]], Awaitable[None]]
#: Keeps the broker path of these consumers waiting while a catch-up runs.
Hold = Callable[[Sequence[Consumer]], AbstractAsyncContextManager[None]]


class ParsedEvents:
    """The events read lately, by seq. Groups of consumers of different topics read many of
    the same events from the outbox at about the same time: each is parsed once (an
    envelope is immutable), which took the worker's CPU for a 54,827-event catch-up from
    11.5-11.9 s to 10.4-11.1 s (bench/worker)."""

    def __init__(self, size: int = 4 * PAGE) -> None:
        self.size = size
        self._events: dict[int, Envelope] = {}

    def parse(self, seq: int, message: str) -> Envelope:
        if (event := self._events.get(seq)) is not None:
            return event
        event = Envelope.model_validate_json(message)
        if len(self._events) >= self.size:
            del self._events[next(iter(self._events))]  # the oldest kept
        self._events[seq] = event
        return event


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
    parsed: ParsedEvents | None = None,
) -> Page | None:
    """The next page of events on `topics` after `after`, or None if fewer than `threshold`
    (its events taken from `parsed` where another page read them)."""
    parsed = parsed or ParsedEvents(size)
    if not await behind(session, topics, after, threshold=threshold):
        return None
    window = {"after": after, "topics": list(topics)}
    rows = (await session.execute(PAGE_QUERY, {**window, "limit": size})).all()
    events: list[Envelope] = []
    for row in rows:
        try:
            events.append(parsed.parse(row.seq, row.message))
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
    parsed: ParsedEvents | None = None,
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
                session,
                group[0].topics,
                after,
                threshold=threshold if not read else 1,
                size=size,
                parsed=parsed,
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


async def stuck_events(
    session: AsyncSession, consumer: Consumer, *, age: float = STUCK_SECONDS
) -> list[Envelope]:
    """Events on the consumer's topics, settled more than `age` seconds ago, that it has not
    applied (nor passed by its checkpoint): the broker did not bring them."""
    rows = await session.execute(
        STUCK,
        {
            "consumer": consumer.name,
            "topics": list(consumer.topics),
            "age": age,
            "limit": STUCK_PAGE,
        },
    )
    events = []
    for row in rows:
        with contextlib.suppress(ValidationError):  # the broker path dead-letters those
            events.append(Envelope.model_validate_json(row.message))
    return events


async def heal_stuck(
    sessions: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
    handle: HandleEvents,
    holding: Hold,
) -> int:
    """Apply every consumer's stuck events from the outbox; returns how many."""
    healed = 0
    for consumer in consumers:
        async with sessions() as session:
            events = await stuck_events(session, consumer)
        if not events:
            continue
        log.warning(
            "applying events the broker did not deliver",
            extra={"consumer": consumer.name, "seqs": [e.seq for e in events][:50]},
        )
        async with holding([consumer]):
            await handle(consumer, events)
        metrics.UNDELIVERED.labels(consumer.name).inc(len(events))
        healed += len(events)
    return healed


async def keep_caught_up(
    sessions: async_sessionmaker[AsyncSession],
    consumers: Sequence[Consumer],
    handle: HandlePage,
    holding: Hold,
    *,
    every: float = 1.0,
    heal: HandleEvents | None = None,
    heal_every: float = STUCK_SECONDS / 2,
    delivered: Callable[[Sequence[Consumer]], int] | None = None,
) -> None:
    """Forever: look for a backlog every `every` seconds; work it off holding its consumers.
    With `heal`, every `heal_every` seconds also apply what the broker lost (`heal_stuck`).

    With `delivered` (the highest seq the broker has handed a group), after a backlog is
    worked off and until the broker has handed the group the copies of it, any settled tail
    is read from the outbox too, however short: it would wait behind those copies (push and
    notify finished 8 s after the rest of a 55,000-event catch-up). Only a backlog sets that
    mark, so the tails read meanwhile never keep the group from the broker for good.
    """
    groups: dict[tuple[str, ...], list[Consumer]] = {}
    for consumer in consumers:
        groups.setdefault(consumer.topics, []).append(consumer)
    #: Per topic set, the end of the last backlog worked off from the outbox.
    backlog_end: dict[tuple[str, ...], int] = {}

    async def one(group: list[Consumer], parsed: ParsedEvents) -> None:
        topics = group[0].topics
        wading = delivered is not None and delivered(group) < backlog_end.get(topics, 0)
        threshold = 1 if wading else THRESHOLD
        try:
            async with sessions() as session:
                after = await lowest_checkpoint(session, group)
                if not await behind(session, topics, after, threshold=threshold):
                    return
            async with holding(group):
                read = await catch_up(sessions, group, handle, threshold=threshold, parsed=parsed)
            if read and not wading:
                async with sessions() as session:
                    backlog_end[topics] = await lowest_checkpoint(session, group)
        except Exception:  # the broker path still delivers; try again next round
            log.exception("catching up from the outbox failed")

    next_heal = time.monotonic() + heal_every
    while True:
        # One round's groups share what they parse; it is let go when the round ends.
        parsed = ParsedEvents()
        await asyncio.gather(*(one(group, parsed) for group in groups.values()))
        if heal is not None and time.monotonic() >= next_heal:
            next_heal = time.monotonic() + heal_every
            try:
                await heal_stuck(sessions, consumers, heal, holding)
            except Exception:
                log.exception("applying stuck events failed")
        await asyncio.sleep(every)  # a polling interval, not synchronisation
