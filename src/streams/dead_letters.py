"""Dead letters: what a consumer could not apply, kept durably before it counts as handled.

A dead letter is a `dead_letters` row plus an outbox row to `<topic>.dlq`, written in the
transaction that records the event as processed. So it is never "sent" by a producer that
has only queued it: the relay publishes it like any event, at least once, with acks=all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.events import dead_letter_topic
from commerce.outbox import DeadLetter, OutboxRow
from streams.consumers import record_processed
from streams.relay import SEQ_HEADER

#: The consumer name of dead letters for messages that could not even be decoded.
DECODER = "decoder"


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
