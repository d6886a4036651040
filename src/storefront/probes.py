"""Is a dependency there? One probe per kind, shared by `/api/health/ready` and `status`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from streams.relay import bootstrap_servers

TIMEOUT = 2.0


@dataclass(frozen=True)
class Probe:
    up: bool
    ms: float | None = None
    detail: str | None = None
    error: str | None = None


async def probe(check: Callable[[], Awaitable[str | None]], seconds: float = TIMEOUT) -> Probe:
    """Run `check` with a deadline: up with its time and detail, or down with the error."""
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), seconds)
    except Exception as error:
        return Probe(False, error=f"{type(error).__name__}: {error}"[:300])
    return Probe(True, round((time.perf_counter() - started) * 1000, 1), detail)


async def postgres(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))


async def redis(client: Redis) -> None:
    await client.ping()


async def broker(kafka_url: str) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers(kafka_url), request_timeout_ms=2000)
    try:
        await client.bootstrap()
    finally:
        await client.close()
