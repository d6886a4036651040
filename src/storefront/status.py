"""`storefront status`: is each component up, and how far behind is the pipeline?

It finds the embedded stack through the `stack.json` that `storefront up` writes, or the
services through STOREFRONT_* URLs (which win), so it works for either stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from redis.asyncio import Redis

from bootstrap import probes
from bootstrap.settings import Settings
from commerce.db import connected
from storefront.launcher import metrics_url, pid_alive, read_state
from streams.monitoring import PipelineStatus, pipeline_status
from streams.relay import bootstrap_servers

TIMEOUT = 3.0


@dataclass
class ComponentStatus:
    name: str
    up: bool
    detail: str = ""


@dataclass
class StackStatus:
    components: list[ComponentStatus] = field(default_factory=list)
    pipeline: PipelineStatus | None = None

    @property
    def healthy(self) -> bool:
        return all(c.up for c in self.components)

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "components": [asdict(c) for c in self.components],
            "pipeline": asdict(self.pipeline) if self.pipeline else None,
        }


async def _probe(name: str, check: Callable[[], Awaitable[str | None]]) -> ComponentStatus:
    result = await probes.probe(check, TIMEOUT)
    return ComponentStatus(
        name, result.up, (result.detail or "") if result.up else result.error or ""
    )


async def collect(settings: Settings) -> StackStatus:
    """Probe every component; read the pipeline's state when PostgreSQL answers."""
    state = read_state(settings.data_dir) or {}
    urls: dict[str, str] = {**state.get("urls", {})}  # type: ignore[dict-item]
    urls |= {
        k: v
        for k in ("database_url", "redis_url", "kafka_url", "elasticsearch_url")
        if (v := getattr(settings, k))
    }
    pids: dict[str, int] = state.get("pids", {})  # type: ignore[assignment]
    api_url = str(state.get("api_url") or f"http://{settings.api_host}:{settings.api_port}")
    worker_url = str(
        state.get("worker_metrics_url") or metrics_url(settings, settings.worker_metrics_port)
    )
    saga_url = str(
        state.get("saga_metrics_url") or metrics_url(settings, settings.saga_metrics_port)
    )
    status = StackStatus()
    if launcher := state.get("launcher_pid"):
        alive = isinstance(launcher, int) and pid_alive(launcher)
        status.components.append(ComponentStatus("launcher", alive, f"pid {launcher}"))
    if relay := pids.get("relay"):  # no port of its own: its backlog shows below
        status.components.append(ComponentStatus("relay", pid_alive(relay), f"pid {relay}"))

    def with_pid(name: str, detail: str) -> str:
        return f"{detail} (pid {pids[name]})" if name in pids else detail

    async def postgres() -> str:
        async with connected(urls["database_url"], pool_size=1) as sessions:
            await probes.postgres(sessions)
            async with sessions() as session:
                status.pipeline = await pipeline_status(session)
        return with_pid("postgres", urls["database_url"].rsplit("@", 1)[-1])

    async def redis() -> str:
        client: Redis = Redis.from_url(urls["redis_url"])
        try:
            await probes.redis(client)
        finally:
            await client.aclose()
        return with_pid("redis", urls["redis_url"].split("//", 1)[-1])

    async def broker() -> str:
        await probes.broker(urls["kafka_url"])
        name = "kafka" if "kafka" in pids else "tansu"
        return with_pid(name, bootstrap_servers(urls["kafka_url"]))

    async def search_node() -> str:
        url = urls["elasticsearch_url"]
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            health = (await http.get(f"{url}/_cluster/health")).raise_for_status().json()
        return with_pid("search-node", f"{url} ({health['status']})")

    async def http_up(url: str, name: str) -> str:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            (await http.get(url)).raise_for_status()
        return with_pid(name, url)

    checks = {
        "postgres": postgres,
        "redis": redis,
        "broker": broker,
        "worker": lambda: http_up(f"{worker_url}/metrics", "worker"),
        # The checkout saga's own worker (see launcher.CHILDREN).
        "saga": lambda: http_up(f"{saga_url}/metrics", "saga"),
        "api": lambda: http_up(f"{api_url}/api/health", "api"),
    }
    if "saga" not in pids:
        checks.pop("saga")  # a stack whose workers were started by hand
    for name in [n for n in ("postgres", "redis", "broker") if URL_OF[n] not in urls]:
        checks.pop(name)
        status.components.append(ComponentStatus(name, False, "no URL: not configured"))
    if "elasticsearch_url" in urls:
        checks["search"] = search_node
    status.components += await asyncio.gather(*(_probe(n, p) for n, p in checks.items()))
    return status


URL_OF = {"postgres": "database_url", "redis": "redis_url", "broker": "kafka_url"}
