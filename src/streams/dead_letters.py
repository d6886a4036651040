"""Dead letters: what a consumer could not apply, kept durably before it counts as handled.

A dead letter is a `dead_letters` row plus an outbox row to `<topic>.dlq`, written in the
transaction that records the event as processed. So it is never "sent" by a producer that
has only queued it: the relay publishes it like any event, at least once, with acks=all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.events import dead_letter_topic
from commerce.notifications.channel import PushChannel
from commerce.notifications.pushes import dead_letter_push
from commerce.outbox import DeadLetter, OutboxRow
from streams.consumers import record_processed
from streams.relay import SEQ_HEADER

log = logging.getLogger(__name__)
#: The consumer name of dead letters for messages that could not even be decoded.
DECODER = "decoder"
ALERT_BATCH = 100


def seq_from_headers(headers: Mapping[str, bytes] | None) -> int | None:
    raw = (headers or {}).get(SEQ_HEADER)
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


async def dead_letter(
    session: AsyncSession,
    *,
    consumer: str,
    topic: str,
    event: str,
    error: BaseException,
    seq: int | None,
    trace_id: str | None = None,
    handled_by: Sequence[str] = (),
) -> None:
    """Keep the dead letter and record `seq` as handled by `handled_by`, in one transaction."""
    reason = repr(error)[:4000]
    session.add(
        DeadLetter(
            consumer=consumer, topic=topic, seq=seq, event=event, error=reason, trace_id=trace_id
        )
    )
    body = {
        "event": event,
        "error": reason,
        "consumer": consumer,
        "event_seq": seq,
        "trace_id": trace_id,
    }
    key = str(seq) if seq is not None else "unknown"
    session.add(OutboxRow(topic=dead_letter_topic(topic), key=key, event=body))
    if seq is not None:
        for name in handled_by:
            await record_processed(session, name, [seq])


async def counts_by_topic(session: AsyncSession) -> dict[str, int]:
    """How many dead letters each topic has."""
    rows = await session.execute(
        select(DeadLetter.topic, func.count()).group_by(DeadLetter.topic).order_by(DeadLetter.topic)
    )
    return {topic: int(count) for topic, count in rows.tuples()}


#: The id of the newest dead letter staff were alerted about.
ALERTED = "pushes:dead_letters:alerted"


def dead_letter_alerts(
    sessions: async_sessionmaker[AsyncSession], channel: PushChannel, alerted: str = ALERTED
) -> Callable[[], Awaitable[None]]:
    """The periodic job: every new dead letter is pushed to staff (those from before the
    first run are not: they are on the dashboard already)."""

    async def alert() -> None:
        try:
            seen = await channel.redis.get(alerted)
            async with sessions() as session:
                if seen is None:
                    newest = await session.scalar(select(func.max(DeadLetter.id)))
                    await channel.redis.set(alerted, newest or 0)
                    return
                letters = list(
                    await session.scalars(
                        select(DeadLetter)
                        .where(DeadLetter.id > int(seen))
                        .order_by(DeadLetter.id)
                        .limit(ALERT_BATCH)
                    )
                )
            if letters:
                await channel.publish([dead_letter_push(_described(d)) for d in letters])
                await channel.redis.set(alerted, letters[-1].id)
        except Exception:
            # Redis or PostgreSQL away for a moment: the next tick tries again.
            log.exception("alerting dead letters failed")

    return alert


def _described(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter.id,
        "consumer": letter.consumer,
        "topic": letter.topic,
        "event_seq": letter.seq,
        "error": letter.error,
        "created_at": letter.created_at.isoformat(),
    }
