"""How far the pipeline is behind, read from PostgreSQL (the source of truth), by anyone.

Used by `storefront status` and the API's `/metrics`; cheap enough to run on
every scrape: the backlog reads the partial index of unpublished rows, and a consumer's lag
counts at most LAG_CAP events past its checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from streams.dead_letters import counts_by_topic
from streams.handlers import subscriptions

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
