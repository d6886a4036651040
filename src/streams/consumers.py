"""How the worker applies events, exactly once in effect: agents call this, tests call it.

A consumer is one of two kinds, both named in the handler table (`streams.handlers`):

- a projection takes a batch. It skips events it has already applied (`processed_events`),
  applies the rest, then records them. Its effect is idempotent by itself: search and cache
  re-read current state; the warehouse remembers its last batch in its manifest.
- a step takes one event and a unit of work. It claims the event in `processed_events`,
  changes rows, and both commit in one transaction, or neither does: a saga step cannot
  run twice, nor be recorded without its effect.
- `steps` take a whole batch in one unit of work, its events claimed in one statement: one
  commit for many events, where no event's effect waits on another's (notifications,
  rewards). A batch that fails is retried one event at a time (`streams.app.handle_batch`).

Events a consumer has no handler for, on the topics it reads, are recorded as handled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import autocommit, transaction
from commerce.events import Envelope
from commerce.unit_of_work import UnitOfWork
from streams import checkpoints, metrics

log = logging.getLogger(__name__)
#: Trace ids per log line about a batch (more go on further lines).
TRACE_IDS_LOGGED = 200
#: Aggregates whose saga steps run side by side: a step waits on the database and the
#: payment provider far more than it computes, so one at a time left the worker idle
#: while orders queued (bench/checkout). Bounded to stay within the connection pool.
STEP_LANES = 8

#: How long the consumers a person waits on (pushes, the saga) gather a batch: an event
#: waits half this on average before its batch starts.
PROMPT_BATCH_SECONDS = 0.01
#: How long the consumers nobody watches as it happens (emails, rewards, the dashboard's
#: counters) gather a batch: each batch costs a few transactions however small it is, and
#: at the default window they took a third of the worker's CPU per order (bench/checkout).
BACKGROUND_BATCH_SECONDS = 0.5

Apply = Callable[[list[Envelope]], Awaitable[None]]
Step = Callable[[Envelope, UnitOfWork], Awaitable[None]]
Steps = Callable[[Sequence[Envelope], UnitOfWork], Awaitable[None]]

RECORD = text("""
INSERT INTO processed_events (consumer, seq)
SELECT :consumer, unnest(CAST(:seqs AS bigint[]))
ON CONFLICT DO NOTHING
""")
#: Of the seqs given, those above the consumer's checkpoint it has not recorded as applied.
UNAPPLIED = text("""
SELECT given.seq FROM unnest(CAST(:seqs AS bigint[])) AS given(seq)
WHERE given.seq > coalesce(
        (SELECT c.seq FROM projection_checkpoints c WHERE c.consumer = :consumer), 0)
  AND NOT EXISTS (
      SELECT 1 FROM processed_events p WHERE p.consumer = :consumer AND p.seq = given.seq)
""")
CLAIM_ALL = text("""
INSERT INTO processed_events (consumer, seq)
SELECT :consumer, seq FROM unnest(CAST(:seqs AS bigint[])) AS seq ORDER BY seq
ON CONFLICT DO NOTHING RETURNING seq
""")
CLAIM = text("""
INSERT INTO processed_events (consumer, seq) VALUES (:consumer, :seq)
ON CONFLICT DO NOTHING RETURNING seq
""")


@dataclass(frozen=True)
class Consumer:
    """A named projection (`apply`), saga step (`step`) or batch of steps (`steps`), with
    what it reads and acts on."""

    name: str
    apply: Apply | None = None
    step: Step | None = None
    steps: Steps | None = None
    #: The topics it reads; the handler table derives them from `types`.
    topics: tuple[str, ...] = ()
    #: The event types it acts on; other events on its topics are recorded as handled.
    types: frozenset[str] = field(default_factory=frozenset)
    #: How long its agent gathers a batch, if not the worker's default. Consumers of the
    #: same topics share an agent only if they share the window, so a prompt one never
    #: waits for a slower one's batch (the saga's steps and the pushes: shorter; the
    #: warehouse and the background: longer).
    batch_seconds: float | None = None

    def __post_init__(self) -> None:
        if [self.apply, self.step, self.steps].count(None) != 2:
            raise ValueError(f"consumer {self.name} needs exactly one of apply, step or steps")


async def unapplied(session: AsyncSession, consumer: str, seqs: Sequence[int]) -> set[int]:
    """Which of `seqs` this consumer has not recorded as applied (nor passed by checkpoint)."""
    if not seqs:
        return set()
    # One array parameter: an IN list of a thousand seqs costs more to compile than to run.
    return set(await session.scalars(UNAPPLIED, {"consumer": consumer, "seqs": list(seqs)}))


async def unseen(
    session: AsyncSession, consumer: str, events: Sequence[Envelope]
) -> list[Envelope]:
    """The events of a batch this consumer has not applied yet, once each, in order."""
    pending = await unapplied(session, consumer, [e.seq for e in events if e.seq is not None])
    fresh: dict[int, Envelope] = {}
    for event in events:
        if event.seq in pending:
            fresh.setdefault(event.seq, event)
    return list(fresh.values())


async def record_processed(session: AsyncSession, consumer: str, seqs: Sequence[int]) -> None:
    if seqs:
        # One array parameter: a VALUES list of 500 rows costs more to compile than to run.
        await session.execute(RECORD, {"consumer": consumer, "seqs": list(seqs)})


async def consume(
    sessions: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    events: Sequence[Envelope],
    *,
    through: int | None = None,
) -> int:
    """Apply a batch once: skip what was applied, apply the rest, record it. Returns applied.

    `through`: the batch holds every event of the consumer's topics up to this seq (a page
    read from the outbox), so the checkpoint moves there instead of recording each event.
    """
    started = time.perf_counter()
    # Single statements, each whole by itself: no transaction around them (its BEGIN and
    # COMMIT were two of a batch's five round trips, for every consumer and every batch).
    async with autocommit(sessions) as session:
        fresh = await unseen(session, consumer.name, events)
        if consumer.apply is None and through is None:
            # Events a step consumer does not act on are recorded in bulk, with the look-up,
            # not claimed one transaction each: notify reads every stock event for the few
            # that cross a line.
            skipped = [e.seq for e in fresh if e.type not in consumer.types and e.seq]
            await record_processed(session, consumer.name, skipped)
    acted = [e for e in fresh if e.type in consumer.types]
    if consumer.apply is None:
        acted = await run_steps(sessions, consumer, acted)
    else:
        if acted:
            await consumer.apply(acted)
        if through is None:
            async with autocommit(sessions) as session:
                await record_processed(session, consumer.name, [e.seq for e in fresh if e.seq])
    if through is not None:
        async with transaction(sessions) as session:
            await checkpoints.move_to(session, consumer.name, through)
    _observe(consumer.name, acted, time.perf_counter() - started)
    return len(acted)


async def run_steps(
    sessions: async_sessionmaker[AsyncSession], consumer: Consumer, events: Sequence[Envelope]
) -> list[Envelope]:
    """The steps of a batch: one aggregate's events in order, different aggregates (orders)
    side by side. Returns the events applied now; the first failure is raised once every
    lane has finished, so a retry finds each step either committed or not begun."""
    if consumer.steps is not None:
        return await run_together(sessions, consumer.name, consumer.steps, events)
    lanes: dict[str, list[Envelope]] = {}
    for event in events:
        lanes.setdefault(event.aggregate_id, []).append(event)
    gate = asyncio.Semaphore(STEP_LANES)

    async def lane(queue: list[Envelope]) -> list[Envelope]:
        async with gate:
            return [event for event in queue if await run_step(sessions, consumer, event)]

    outcomes = await asyncio.gather(*(lane(q) for q in lanes.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    applied = {e.seq for done in outcomes if isinstance(done, list) for e in done}
    return [event for event in events if event.seq in applied]


async def run_together(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    steps: Steps,
    events: Sequence[Envelope],
) -> list[Envelope]:
    """A batch's steps in one unit of work with their processed records. Claimed in seq
    order, so two workers claiming overlapping batches cannot deadlock."""
    if not events:
        return []
    async with UnitOfWork(sessions) as uow:
        seqs = [event.seq for event in events if event.seq is not None]
        claimed = set(await uow.session.scalars(CLAIM_ALL, {"consumer": name, "seqs": seqs}))
        applied = [event for event in events if event.seq in claimed]
        if applied:
            await steps(applied, uow)
    return applied


def each(step: Step) -> Steps:
    """Steps that take a batch's events one after another in its unit of work."""

    async def steps(events: Sequence[Envelope], uow: UnitOfWork) -> None:
        for event in events:
            await step(event, uow)

    return steps


async def run_step(
    sessions: async_sessionmaker[AsyncSession], consumer: Consumer, event: Envelope
) -> bool:
    """One event in one unit of work with its processed record; False if already applied."""
    assert consumer.step is not None and event.seq is not None
    async with UnitOfWork(sessions) as uow:
        # Claimed first, in the same transaction: a concurrent duplicate waits on this row
        # and then finds it taken; a failure below rolls the claim back with the effect.
        claimed = await uow.session.scalar(CLAIM, {"consumer": consumer.name, "seq": event.seq})
        if claimed is None:
            return False
        if event.type in consumer.types:
            await consumer.step(event, uow)
    return True


def _observe(consumer: str, applied: Sequence[Envelope], seconds: float) -> None:
    metrics.BATCH_SECONDS.labels(consumer).observe(seconds)
    if applied:
        # The trace ids tie these lines to the API requests that caused the events.
        traces = sorted({e.trace_id for e in applied if e.trace_id})
        seqs = [e.seq for e in applied if e.seq]
        log.info(
            "applied",
            extra={
                "consumer": consumer,
                "events": len(applied),
                "seqs": [min(seqs), max(seqs)] if seqs else [],
                "trace_ids": traces[:TRACE_IDS_LOGGED],
                "ms": round(seconds * 1000, 1),
            },
        )
        # A catch-up page holds thousands: every trace id is still findable in the log.
        for start in range(TRACE_IDS_LOGGED, len(traces), TRACE_IDS_LOGGED):
            chunk = traces[start : start + TRACE_IDS_LOGGED]
            log.info("applied, more trace ids", extra={"consumer": consumer, "trace_ids": chunk})
    metrics.APPLIED.labels(consumer).inc(len(applied))
    now = datetime.now(UTC)
    age = metrics.EVENT_AGE.labels(consumer)
    for event in applied:
        age.observe((now - event.occurred_at).total_seconds())
