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


class BrokerConnection:
    """One client kept open across probes: a probe is then one metadata request, not a new
    connection and bootstrap for every caller of a readiness endpoint."""

    def __init__(self, kafka_url: str) -> None:
        self.kafka_url = kafka_url
        self.client: AIOKafkaClient | None = None

    async def check(self) -> None:
        if self.client is None:
            client = AIOKafkaClient(
                bootstrap_servers=bootstrap_servers(self.kafka_url), request_timeout_ms=2000
            )
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self.client = client
            return
        try:
            await self.client.fetch_all_metadata()
        except BaseException:
            await self.close()  # the next probe connects afresh (a restarted broker)
            raise

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()


async def broker(kafka_url: str) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers(kafka_url), request_timeout_ms=2000)
    try:
        await client.bootstrap()
    finally:
        await client.close()
