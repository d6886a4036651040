"""Readiness of every dependency, checked at most once per `ready_cache_seconds` per process.

Concurrent callers share one check, and the broker is asked through one client kept open,
so a flood of anonymous readiness probes costs one round of checks a second or two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap import probes
from bootstrap.settings import Settings
from commerce.currency import service as rates
from search.backend import SearchBackend


@dataclass(frozen=True)
class Report:
    """Each part's check with its details (for staff), and who is down."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: tuple[str, ...] = ()

    def public(self) -> dict[str, dict[str, bool]]:
        """Up or down per part: no timings, hosts or error texts for anonymous callers."""
        return {name: {"up": bool(check["up"])} for name, check in self.checks.items()}


class Readiness:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        search: SearchBackend,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.redis = redis
        self.search = search
        self.broker = probes.BrokerConnection(settings.kafka_url) if settings.kafka_url else None
        self.lock = asyncio.Lock()
        self.last: Report | None = None
        self.checked_at = 0.0

    async def report(self) -> Report:
        """The last report while it is fresh, else a new one (one check at a time)."""
        async with self.lock:
            if self.last is None or time.monotonic() - self.checked_at >= self.max_age:
                self.last = await self.check()
                self.checked_at = time.monotonic()
            return self.last

    @property
    def max_age(self) -> float:
        return self.settings.ready_cache_seconds

    async def check(self) -> Report:
        checks: dict[str, Callable[[], Awaitable[str | None]]] = {
            "postgres": lambda: probes.postgres(self.sessions),
            "redis": lambda: probes.redis(self.redis),
            "index": self.index,
        }
        if self.broker is not None:
            checks["broker"] = self.broker.check
        found = await asyncio.gather(*(probes.probe(check) for check in checks.values()))
        results = {
            name: {k: v for k, v in asdict(result).items() if v is not None}
            for name, result in zip(checks, found, strict=True)
        }
        down = tuple(sorted(name for name, r in zip(checks, found, strict=True) if not r.up))
        if "redis" not in down and "postgres" not in down:
            results["rates"] = await self.rates_age()
        return Report(results, down)

    async def index(self) -> str:
        return f"{await self.search.document_count()} documents"

    async def rates_age(self) -> dict[str, object]:
        """The exchange rates' day: older than allowed is reported (prices still convert)."""
        table = await rates.current_rates(
            self.sessions, self.redis, ttl=self.settings.rates_cache_seconds
        )
        age = rates.age_in_days(table, datetime.now(UTC).date())
        stale = age > self.settings.rates_max_age_days
        found: dict[str, object] = {
            "up": True,
            "date": table.date.isoformat(),
            "age_days": age,
            "source": table.source,
            "status": "stale: run `storefront rates refresh`" if stale else "current",
        }
        if refusal := await rates.last_refusal(self.redis):
            found["status"] = f"kept {table.date}'s: the feed's last table was refused"
            found["refused"] = refusal
        return found

    async def aclose(self) -> None:
        if self.broker is not None:
            await self.broker.close()
