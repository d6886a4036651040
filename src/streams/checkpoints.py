"""Each consumer's checkpoint: the outbox seq below which it has applied everything.

The relay re-sends from the lowest checkpoint after a broker reset, so checkpoints must
never pass an event that is not applied. Nor do they pass the settled seq
(`commerce.outbox.SETTLED_SEQ`): above it, a transaction that took a lower seq may not have
committed yet (sequences are allocated before commit, rows become visible at commit).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.outbox import SETTLED_SEQ

ADVANCE = text(f"""
WITH current AS (
    SELECT coalesce((SELECT seq FROM projection_checkpoints WHERE consumer = :consumer), 0) AS seq
), settled AS (
    SELECT coalesce(max(o.seq), (SELECT seq FROM current)) AS seq FROM outbox o
    WHERE o.seq > (SELECT seq FROM current) AND o.seq <= (SELECT seq FROM current) + :window
      AND o.seq <= {SETTLED_SEQ}
), first_missing AS (
    SELECT min(o.seq) AS seq FROM outbox o
    WHERE o.seq > (SELECT seq FROM current) AND o.seq <= (SELECT seq FROM current) + :window
      AND o.topic = ANY(:topics)
      AND NOT EXISTS (
          SELECT 1 FROM processed_events p WHERE p.consumer = :consumer AND p.seq = o.seq)
)
INSERT INTO projection_checkpoints (consumer, seq)
SELECT :consumer, greatest(
    (SELECT seq FROM current),
    least(
        (SELECT seq FROM settled),
        coalesce((SELECT seq - 1 FROM first_missing), (SELECT seq FROM settled))))
-- greatest again on the locked row: a catch-up may have moved it since this read it.
ON CONFLICT (consumer) DO UPDATE SET seq = greatest(projection_checkpoints.seq, excluded.seq)
RETURNING seq
""")

#: How far one advance looks ahead: bounds its cost while a consumer works off a backlog.
WINDOW = 20_000

PRUNE = text("DELETE FROM processed_events WHERE consumer = :consumer AND seq <= :seq")
MOVE = text("""
INSERT INTO projection_checkpoints (consumer, seq) VALUES (:consumer, :seq)
ON CONFLICT (consumer) DO UPDATE SET seq = greatest(projection_checkpoints.seq, excluded.seq)
RETURNING seq
""")


async def advance(session: AsyncSession, consumer: str, topics: Sequence[str]) -> int:
    """Move `consumer`'s checkpoint as far as it safely goes; prune what it covers."""
    seq = int(
        (
            await session.execute(
                ADVANCE,
                {"consumer": consumer, "topics": list(topics), "window": WINDOW},
            )
        ).scalar_one()
    )
    await session.execute(PRUNE, {"consumer": consumer, "seq": seq})
    return seq


async def move_to(session: AsyncSession, consumer: str, seq: int) -> int:
    """Move the checkpoint to `seq` (never back): everything up to it is applied."""
    moved = int((await session.execute(MOVE, {"consumer": consumer, "seq": seq})).scalar_one())
    await session.execute(PRUNE, {"consumer": consumer, "seq": moved})
    return moved


async def lowest(session: AsyncSession, consumers: Sequence[str]) -> int:
    """The lowest checkpoint among `consumers` (0 for one that never recorded any)."""
    rows: dict[str, int] = dict(
        (
            await session.execute(
                text(
                    "SELECT consumer, seq FROM projection_checkpoints WHERE consumer = ANY(:names)"
                ),
                {"names": list(consumers)},
            )
        )
        .tuples()
        .all()
    )
    return min((int(rows.get(name, 0)) for name in consumers), default=0)
