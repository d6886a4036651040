"""Searches as they are answered, written through the outbox a flush at a time.

A search must not wait on a database transaction: it is answered from memory. Each API
process keeps the searches it answered and writes them every `SEARCH_LOG_SECONDS` as one
`search.answered` event (up to `BATCH` searches each), not an outbox row, a Kafka message
and a transaction's worth of work per search: a search costs the machine the same whether
or not it is recorded. What a process held when it crashed is lost (at most that interval);
a clean shutdown writes them first. Past `limit` searches waiting (the database is down),
new ones are dropped and counted rather than filling memory.

One address (an IPv6 /64) counts at most `per_address` searches a minute per process: a
script that floods the shop with one query cannot push it to the top of the analytics.
Its searches are answered all the same; the surplus is counted, not recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import SearchesAnswered, SearchPerformed
from commerce.outbox import add_event

log = logging.getLogger(__name__)

UNRECORDED = Counter(
    "storefront_searches_unrecorded_total",
    "Searches answered but not recorded for analytics: `backlog` when too many were waiting "
    "to be written, `address_limit` past an address's searches a minute.",
    ["reason"],
)
#: Searches per event: a flush of a busy second stays well below Kafka's 1 MB message.
BATCH = 500
#: Addresses remembered in a minute; beyond, new ones are not recorded (a botnet's spread).
ADDRESSES = 100_000


class SearchLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        per_address: int = 60,
        limit: int = 50_000,
    ) -> None:
        self._sessions = sessions
        self._per_address = per_address
        self._limit = limit
        self._waiting: list[SearchPerformed] = []
        self._counted: dict[str, int] = {}
        self._minute = 0
        # One key for this process's events: its batches stay in order on one partition.
        self._key = uuid.uuid4().hex

    def record(self, search: SearchPerformed, address: str) -> None:
        """Keep a search for the next flush, unless its address has had its share."""
        if not self._admit(address):
            UNRECORDED.labels("address_limit").inc()
            return
        if len(self._waiting) >= self._limit:
            UNRECORDED.labels("backlog").inc()
            return
        self._waiting.append(search)

    def _admit(self, address: str) -> bool:
        minute = int(time.monotonic() // 60)
        if minute != self._minute:
            self._minute, self._counted = minute, {}
        counted = self._counted.get(address)
        if counted is None and len(self._counted) >= ADDRESSES:
            return False
        if (counted or 0) >= self._per_address:
            return False
        self._counted[address] = (counted or 0) + 1
        return True

    async def flush(self) -> int:
        """Write what is waiting in one transaction; on failure it waits for the next try."""
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return 0
        try:
            async with transaction(self._sessions) as session:
                for start in range(0, len(waiting), BATCH):
                    batch = SearchesAnswered(searches=waiting[start : start + BATCH])
                    add_event(session, "search.answered", self._key, 1, batch)
        except BaseException:
            self._waiting = waiting[: self._limit - len(self._waiting)] + self._waiting
            raise
        return len(waiting)

    async def run(self, every: float = 1.0) -> None:
        """Flush every `every` seconds until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.flush()
                except Exception:
                    log.exception("could not record searches; retrying")
        finally:
            await asyncio.shield(self.flush())
