"""How far the pipeline is behind, read from PostgreSQL (the source of truth), by anyone.

Used by `storefront status`, the API's `/metrics` and its checkout gate; cheap enough to
run on every scrape: the backlog reads the partial index of unpublished rows, and a consumer's lag
counts at most LAG_CAP events past its checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from streams.dead_letters import counts_by_topic
from streams.handlers import subscriptions
from streams.steps import SAGA_CONSUMERS

#: Lags are counted up to here: beyond it the number says "far behind", not how far.
LAG_CAP = 100_000

BACKLOG = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
CHECKPOINT = text("SELECT seq FROM projection_checkpoints WHERE consumer = :consumer")
# Two range scans (events after the checkpoint, minus those recorded as processed) rather than
# an anti-join per event: a scrape during a backlog of 50k events must not load the database.
LAG = text("""
SELECT greatest(0,
    (SELECT count(*) FROM (
        SELECT 1 FROM outbox WHERE seq > :checkpoint AND topic = ANY(:topics) LIMIT :cap) o)
  - (SELECT count(*) FROM (
        SELECT 1 FROM processed_events
        WHERE consumer = :consumer AND seq > :checkpoint LIMIT :cap) p))
""")


#: The oldest event a consumer has not applied yet, and how long it has waited.
OLDEST_UNAPPLIED = text("""
SELECT extract(epoch FROM clock_timestamp() - o.created_at) FROM outbox o
WHERE o.seq > coalesce(
        (SELECT seq FROM projection_checkpoints WHERE consumer = :consumer), 0)
  AND o.topic = ANY(:topics)
  AND NOT EXISTS (
      SELECT 1 FROM processed_events p WHERE p.consumer = :consumer AND p.seq = o.seq)
ORDER BY o.seq
LIMIT 1
""")


@dataclass(frozen=True)
class ConsumerLag:
    consumer: str
    checkpoint: int
    #: Events on the consumer's topics not applied yet (capped at LAG_CAP).
    behind: int


@dataclass(frozen=True)
class PipelineStatus:
    outbox_backlog: int
    consumers: list[ConsumerLag]
    dead_letters: dict[str, int]


async def pipeline_status(session: AsyncSession) -> PipelineStatus:
    """Unpublished outbox rows, each consumer's checkpoint and lag, dead letters per topic."""
    backlog = int(await session.scalar(BACKLOG) or 0)
    lags = []
    for consumer, topics in subscriptions().items():
        checkpoint = int(await session.scalar(CHECKPOINT, {"consumer": consumer}) or 0)
        behind = await session.scalar(
            LAG,
            {
                "checkpoint": checkpoint,
                "topics": list(topics),
                "consumer": consumer,
                "cap": LAG_CAP,
            },
        )
        lags.append(ConsumerLag(consumer, checkpoint, int(behind or 0)))
    return PipelineStatus(backlog, lags, await counts_by_topic(session))


async def saga_behind_seconds(session: AsyncSession) -> float:
    """How long the oldest event the checkout saga has not applied has waited (0: none);
    its checkpoint moves every second, so this reads from just before the first gap."""
    topics = subscriptions()
    waited = [
        await session.scalar(OLDEST_UNAPPLIED, {"consumer": name, "topics": list(topics[name])})
        for name in SAGA_CONSUMERS
    ]
    return max((float(seconds) for seconds in waited if seconds is not None), default=0.0)
