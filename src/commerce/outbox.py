"""The transactional outbox: events are rows written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import BigInteger, DateTime, Index, String, Text, event, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from commerce.db import Base
from commerce.events import topic_for
from commerce.tracing import current_trace_id

#: The highest seq below which no outbox row can still appear: the lower of the newest
#: visible row and the lowest pin of a running writer, less one. A writer pins (a shared
#: advisory lock, key 2**62 + a seq at or below its own) before drawing its first seq,
#: until it ends (migration 20261126_outbox_settled). Lock state is read live while rows
#: are read as of the statement's start, so a writer that drew a lower seq than a visible
#: row is always seen. (A rule of time, "commits within 5 s", lost order events when
#: checkouts under load committed later; this holds however long a transaction runs.)
SETTLED_SEQ = """(SELECT least(
    (SELECT coalesce(max(seq), 0) FROM outbox),
    (SELECT min((l.classid::bigint << 32) + l.objid::bigint) - (1::bigint << 62) - 1
     FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid::bigint >= (1 << 30)
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))))"""


async def settled_seq(session: AsyncSession) -> int:
    return int((await session.execute(text(f"SELECT {SETTLED_SEQ}"))).scalar_one())


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
        # A consumer's backlog and lag, read by topic (streams.catch_up, streams.monitoring).
        Index("ix_outbox_topic_seq", "topic", "seq"),
    )

    #: Drawn by the trigger `outbox_pin_seq` (see SETTLED_SEQ), not by a column default.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    event: Mapped[dict[str, object]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """Which outbox rows a consumer has applied: idempotence and the replay checkpoint."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class ProjectionCheckpoint(Base):
    """The highest outbox seq below which `consumer` has applied every row of its topics."""

    __tablename__ = "projection_checkpoints"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class DeadLetter(Base):
    """An event a consumer could not apply (or decode): kept for inspection and replay.

    Written in the same transaction that records the event as handled, together with an
    outbox row to `<topic>.dlq`, so a dead letter cannot be lost however the worker dies.
    """

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64), index=True)
    #: The outbox seq of the failed event; None for a message that did not come from our relay.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


def outbox_row(
    type: str,
    aggregate_id: object,
    aggregate_version: int,
    payload: BaseModel,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The values of one outbox row, for bulk inserts (`add_event` stages one).

    The event is built straight in `Envelope`'s JSON form (a test holds the two equal), not
    through the model: bulk imports build 100,000s and the round trip doubled their cost.
    """
    key = str(aggregate_id)
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type,
        "occurred_at": to_jsonable_python(occurred_at or datetime.now(UTC)),
        "aggregate_id": key,
        "aggregate_version": aggregate_version,
        "payload": payload.model_dump(mode="json"),
        "trace_id": current_trace_id.get(),
        "seq": None,
    }
    return {"topic": topic_for(type), "key": key, "event": event}


def add_event(
    session: AsyncSession,
    type: str,
    aggregate_id: object,
    aggregate_version: int,
    payload: BaseModel,
) -> None:
    """Stage an event in the caller's transaction: its row is written as the transaction
    commits (`_write_staged`), and the relay publishes it after."""
    row = OutboxRow(**outbox_row(type, aggregate_id, aggregate_version, payload))
    session.info.setdefault(_STAGED, []).append(row)


#: Where a session keeps the outbox rows its transaction writes as it commits.
_STAGED = "storefront.outbox.staged"


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    """A transaction's events are its last writes. Its first seq pins the relay's settled
    mark until it ends (SETTLED_SEQ): a checkout that wrote its event and then waited for a
    hot SKU's stock row held back every later event of every writer (bench/checkout:
    order.created published p99 0.6-0.8 s after its commit)."""
    if staged := session.info.pop(_STAGED, None):
        session.add_all(staged)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
