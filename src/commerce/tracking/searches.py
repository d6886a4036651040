"""Searches as they are answered, written through the outbox a second at a time.

A search must not wait on a database transaction: it is answered from memory. Each API
process keeps the searches it answered and writes them in one transaction every second.
What a process held when it crashed is lost (at most a second of searches); a clean
shutdown writes them first. Past `limit` searches waiting (the database is down), new ones
are dropped and counted rather than filling memory.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.events import SearchPerformed
from commerce.outbox import add_event

log = logging.getLogger(__name__)

DROPPED = Counter(
    "storefront_searches_dropped_total",
    "Searches not recorded for analytics because too many were waiting to be written.",
)


class SearchLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, limit: int = 50_000) -> None:
        self._sessions = sessions
        self._limit = limit
        self._waiting: list[SearchPerformed] = []

    def record(self, search: SearchPerformed) -> None:
        if len(self._waiting) >= self._limit:
            DROPPED.inc()
            return
        self._waiting.append(search)

    async def flush(self) -> int:
        """Write what is waiting in one transaction; on failure it waits for the next try."""
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return 0
        try:
            async with transaction(self._sessions) as session:
                for search in waiting:
                    # Keyed by session: one shopper's searches stay in order.
                    key = search.session_id or uuid.uuid4().hex
                    add_event(session, "search.performed", key, 1, search)
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
