"""New checkouts wait while the checkout saga is behind: a 503 with Retry-After instead of an
order that would queue for its charge behind seconds, then minutes, of others.

The saga's lag is read from PostgreSQL (streams.monitoring) at most every `REFRESH_SECONDS`
per API process, so the gate costs one small query a quarter second, not one per order.
"""

from __future__ import annotations

import asyncio
import math
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.orders.errors import CheckoutPaused
from streams.monitoring import saga_behind_seconds

REFRESH_SECONDS = 0.25


class CheckoutGate:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], pause_after: float) -> None:
        self.sessions = sessions
        #: 0: the gate is open whatever the lag.
        self.pause_after = pause_after
        self._behind = 0.0
        self._read_at = -math.inf
        self._reading = asyncio.Lock()

    async def admit(self) -> None:
        """Raise CheckoutPaused while the saga is more than `pause_after` seconds behind."""
        if not self.pause_after:
            return
        behind = await self.behind()
        if behind > self.pause_after:
            raise CheckoutPaused(behind, retry_after=max(1, math.ceil(behind - self.pause_after)))

    async def behind(self) -> float:
        async with self._reading:  # one read for every request waiting on a stale value
            if time.monotonic() - self._read_at >= REFRESH_SECONDS:
                async with self.sessions() as session:
                    self._behind = await saga_behind_seconds(session)
                self._read_at = time.monotonic()
        return self._behind
