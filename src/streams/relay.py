"""The outbox relay: publishes committed outbox rows to Kafka, in order, at least once.

It sleeps until a commit wakes it: every statement that writes outbox rows notifies channel
`outbox` (a trigger), and the relay LISTENs; it also looks every LISTEN_FALLBACK_SECONDS in
case a notification was lost (its connection dropped), and polls when it has no listener.

It also guards against a broker that lost its log (the embedded Tansu keeps it in memory).
A sentinel topic that only the relay creates marks a broker it has prepared: consumers may
auto-create our data topics again after a reset, but never the sentinel. When it is gone the
relay recreates the topics with explicit partitions, starts a new producer and re-sends
everything after the lowest consumer checkpoint. Consumers absorb the repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Sequence

import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.outbox import SETTLED_SEQ
from streams import metrics
from streams.checkpoints import lowest

log = logging.getLogger(__name__)

#: How long the relay sleeps at the most when no commit wakes it (a lost notification).
LISTEN_FALLBACK_SECONDS = 1.0
#: Claims start at most this often: under load, commits come faster than this, and one claim
#: for all of them costs the relay (and PostgreSQL) far less than one claim each.
MIN_CLAIM_INTERVAL_SECONDS = 0.025
#: Only one relay publishes at a time, so one aggregate's events keep their order.
RELAY_LOCK_KEY = 0x5F0B0C5
#: The relay's lock and the settled seq, read in one round trip.
LOCK_AND_SETTLED = text(f"SELECT pg_try_advisory_xact_lock(:key), {SETTLED_SEQ}")

# The message is built by PostgreSQL (the event with its seq, as JSON text): parsing JSONB
# into Python and dumping it again cost the relay more than everything else it does.
CLAIM = text("""
SELECT seq, topic, key, (event || jsonb_build_object('seq', seq))::text AS message
FROM outbox
WHERE published_at IS NULL AND seq > :floor ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED
""")
MARK = text("UPDATE outbox SET published_at = clock_timestamp() WHERE seq = ANY(:seqs)")
REWIND = text("UPDATE outbox SET published_at = NULL WHERE seq > :seq AND published_at IS NOT NULL")


def raised_floor(floor: int, settled: int, claimed: Sequence[int], limit: int) -> int:
    """The floor after a claim that published `claimed`: every row up to `settled` was
    visible to it, so none up to there is left, unless the claim stopped at its limit."""
    if len(claimed) < limit:
        return max(floor, settled)
    return max(floor, min(settled, claimed[-1]))


SENTINEL_TOPIC = "storefront-relay-sentinel"
#: How long a created sentinel may take to show in the broker's metadata.
SENTINEL_SECONDS = 10.0
SENTINEL_POLL_SECONDS = 0.05
#: Header in which each message carries its outbox seq (readable without decoding it).
SEQ_HEADER = "seq"


def bootstrap_servers(kafka_url: str) -> str:
    return kafka_url.split("://", 1)[-1].rstrip("/")


async def prepare_topics(kafka_url: str, topics: Sequence[str], partitions: int) -> None:
    """Create `topics` with explicit partitions where missing.

    Not the sentinel: only the relay may say that a broker has every event it published.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(kafka_url))
    await admin.start()
    try:
        await _create_missing(admin, topics, partitions)
    finally:
        await admin.close()


async def _create_missing(
    admin: AIOKafkaAdminClient, topics: Sequence[str], partitions: int
) -> None:
    existing = set(await admin.list_topics())
    missing = [t for t in topics if t not in existing]
    if missing:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(t, partitions, replication_factor=1) for t in missing]
            )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        kafka_url: str,
        *,
        topics: Sequence[str],
        partitions: int,
        consumers: Sequence[str],
        batch_size: int = 500,
        poll_seconds: float = 0.05,
        guard_seconds: float = 0.25,
        listen_url: str | None = None,
        fallback_seconds: float = LISTEN_FALLBACK_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.servers = bootstrap_servers(kafka_url)
        self.topics = tuple(topics)
        self.partitions = partitions
        self.consumers = tuple(consumers)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.guard_seconds = guard_seconds
        #: A libpq URL to LISTEN on; None: poll every `poll_seconds`.
        self.listen_url = listen_url
        self.fallback_seconds = fallback_seconds
        self._last_claim = -math.inf
        self._listener: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        # Every row at or below `floor` is published. Claiming above it skips the index
        # entries of published rows, which pile up faster than autovacuum removes them.
        self.floor = 0
        self.producer: AIOKafkaProducer | None = None
        self.admin: AIOKafkaAdminClient | None = None
        self.resets = 0
        self.created: set[str] = set()

    async def run(self) -> None:
        """Publish forever; survive broker outages and resets."""
        next_guard = 0.0
        while True:
            try:
                if self.producer is None:
                    await self._connect()
                if time.monotonic() >= next_guard:
                    next_guard = time.monotonic() + self.guard_seconds
                    if not await self._broker_prepared():
                        await self._drop_producer()
                        continue
                # A short batch took every row committed before it: the commits after it
                # notify. (Claiming again at once found nothing nearly every time.)
                if await self.publish_batch() < self.batch_size:
                    await self.wait_for_rows()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as error:
                log.warning("relay: broker unavailable (%s); retrying", error)
                await self._drop_producer()
                await asyncio.sleep(0.5)

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows and mark them; returns how many."""
        assert self.producer is not None
        self._last_claim = time.monotonic()
        async with transaction(self.sessions) as session:
            # One round trip: the lock, and the settled seq read before the claim (every row
            # up to it is visible to the claim's snapshot).
            locked, settled = (
                await session.execute(LOCK_AND_SETTLED, {"key": RELAY_LOCK_KEY})
            ).one()
            if not locked:
                return 0
            claim = {"limit": self.batch_size, "floor": self.floor}
            rows = (await session.execute(CLAIM, claim)).all()
            if not rows:
                self.floor = raised_floor(self.floor, settled, [], self.batch_size)
                return 0
            await self._have_topics({row.topic for row in rows})
            sends = [
                await self.producer.send(
                    row.topic,
                    key=row.key.encode(),
                    value=row.message.encode(),
                    # Readable without decoding the value: an undecodable event is still
                    # recorded by its seq, so checkpoints move past it.
                    headers=[(SEQ_HEADER, str(row.seq).encode())],
                )
                for row in rows
            ]
            await asyncio.gather(*sends)
            await session.execute(MARK, {"seqs": [row.seq for row in rows]})
        # Committed: only now may the floor pass these rows.
        self.floor = raised_floor(self.floor, settled, [row.seq for row in rows], self.batch_size)
        for topic, count in Counter(row.topic for row in rows).items():
            metrics.PUBLISHED.labels(topic).inc(count)
        return len(rows)

    async def wait_for_rows(self) -> None:
        """Until a commit that wrote outbox rows wakes the relay, or a while at the most."""
        if self.listen_url is None:
            await asyncio.sleep(self.poll_seconds)
            return
        try:
            if self._listener is None:
                self._listener = await psycopg.AsyncConnection.connect(
                    self.listen_url, autocommit=True
                )
                await self._listener.execute("LISTEN outbox")
                return  # rows may have come while it connected: look again at once
            async for _ in self._listener.notifies(timeout=self.fallback_seconds, stop_after=1):
                pass
            if (wait := self._last_claim + MIN_CLAIM_INTERVAL_SECONDS - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            # The commits notified so far are visible to the next claim: one claim for all
            # of them, not one wake (and one claim, mostly empty) each.
            async for _ in self._listener.notifies(timeout=0):
                pass
        except psycopg.Error as error:
            log.warning("relay: listening for outbox commits failed (%s); polling", error)
            await self._close_listener()
            await asyncio.sleep(self.poll_seconds)

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                await self._listener.close()
            self._listener = None

    async def _connect(self) -> None:
        """Prepare the broker (re-sending what it may have lost) and start a producer."""
        if not await self._broker_prepared():
            await self._rewind()
        await self.ensure_topics()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.servers, acks="all", linger_ms=2, enable_idempotence=False
        )
        await producer.start()
        self.producer = producer

    async def _drop_producer(self) -> None:
        for client in (self.producer, self.admin):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop() if isinstance(
                        client, AIOKafkaProducer
                    ) else await client.close()
        self.producer = None
        self.admin = None

    async def _admin(self) -> AIOKafkaAdminClient:
        if self.admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.servers, request_timeout_ms=5000)
            await admin.start()
            self.admin = admin
        return self.admin

    async def ensure_topics(self) -> None:
        """Create our topics with explicit partitions (auto-creation would pick its own),
        and wait until the broker lists the sentinel: Apache Kafka answers a create before
        its metadata has it, and the next guard would take the broker for a new one again."""
        admin = await self._admin()
        await _create_missing(admin, [*self.topics, SENTINEL_TOPIC], self.partitions)
        self.created = set(self.topics)
        for _ in range(int(SENTINEL_SECONDS / SENTINEL_POLL_SECONDS)):
            if await self._broker_prepared():
                break
            await asyncio.sleep(SENTINEL_POLL_SECONDS)  # polls the broker's metadata

    async def _have_topics(self, topics: set[str]) -> None:
        """Create a row's topic the relay was not told of, before sending to it: Apache
        Kafka does not create topics on a send (auto.create.topics.enable is off) and would
        let the send wait its whole timeout, then fail, again and again."""
        if unknown := topics - self.created:
            await _create_missing(await self._admin(), sorted(unknown), self.partitions)
            self.created |= unknown

    async def _broker_prepared(self) -> bool:
        """False for a new broker, or one that lost its log since we prepared it."""
        admin = await self._admin()
        return SENTINEL_TOPIC in set(await admin.list_topics())

    async def close(self) -> None:
        await self._drop_producer()
        await self._close_listener()

    async def _rewind(self) -> None:
        """Mark for re-sending every event after the lowest consumer checkpoint."""
        self.resets += 1
        metrics.BROKER_RESETS.inc()
        async with transaction(self.sessions) as session:
            seq = await lowest(session, self.consumers)
            rewound = (await session.execute(REWIND, {"seq": seq})).rowcount  # type: ignore[attr-defined]
        self.floor = min(self.floor, seq)
        log.warning("relay: unprepared broker; re-sending %d events after seq %d", rewound, seq)
