"""bench/recovery: kill the broker, then the worker, under steady writes; count and time it.

    .venv/bin/python bench/recovery [--rate 20] [--before 5] [--after 15]
                                    [--engines production]

Runs `storefront up` as a user does (its own data folder and ports), creates products
through the API at `--rate` writes/s, and SIGKILLs the broker (Tansu, or Apache Kafka with
`--engines production`), then the worker, then (production) the OpenSearch node. For each
kill it prints: the time from the kill to the first write made after it being searchable
(goal <= 3 s), writes lost (never searchable), warehouse rows per product (exactly once),
and for the worker kill whether the API answered every health probe meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine

from analytics.warehouse import open_warehouse
from storefront.launched import LaunchedStack


@dataclass
class Phase:
    component: str
    tag: str = field(default_factory=lambda: f"rq{uuid.uuid4().hex[:8]}")
    after_tag: str = field(default_factory=lambda: f"ra{uuid.uuid4().hex[:8]}")
    ids: list[str] = field(default_factory=list)
    failed_writes: int = 0
    killed_at: float = 0.0
    first_visible_after_kill: float | None = None
    health_probes: int = 0
    health_failures: int = 0


async def write(http: httpx.AsyncClient, token: str, name: str, phase: Phase) -> None:
    body = {
        "sku": f"R-{uuid.uuid4().hex[:12]}",
        "name": name,
        "brand": "Acme",
        "category": "camping",
        "price": "9.90",
    }
    try:
        response = await http.post(
            "/api/admin/products", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError:
        phase.failed_writes += 1
        return
    if response.status_code == 201:
        phase.ids.append(response.json()["id"])
    else:
        phase.failed_writes += 1


async def total(http: httpx.AsyncClient, query: str) -> int:
    """Products found; -1 while search cannot answer (a 503, or no answer at all)."""
    try:
        response = await http.get("/api/search", params={"q": query, "size": 1})
    except httpx.HTTPError:
        return -1
    return int(response.json()["total"]) if response.status_code == 200 else -1


async def watch_first_visible(http: httpx.AsyncClient, phase: Phase, stop: asyncio.Event) -> None:
    while not stop.is_set() and phase.first_visible_after_kill is None:
        if await total(http, phase.after_tag) > 0:
            phase.first_visible_after_kill = time.monotonic() - phase.killed_at
        await asyncio.sleep(0.02)


async def probe_health(http: httpx.AsyncClient, phase: Phase, stop: asyncio.Event) -> None:
    while not stop.is_set():
        phase.health_probes += 1
        try:
            ok = (await http.get("/api/health", timeout=2)).status_code == 200
        except httpx.HTTPError:
            ok = False
        phase.health_failures += not ok
        await asyncio.sleep(0.05)


async def run_phase(
    stack: LaunchedStack, phase: Phase, rate: float, before: float, after: float
) -> None:
    token = await asyncio.to_thread(stack.token)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as http:
        stop = asyncio.Event()
        health = asyncio.create_task(probe_health(http, phase, stop))
        writes: list[asyncio.Task[None]] = []
        started, n, killed = time.monotonic(), 0, False
        watcher: asyncio.Task[None] | None = None
        while (elapsed := time.monotonic() - started) < before + after:
            if not killed and elapsed >= before:
                stack.kill(phase.component)
                phase.killed_at, killed = time.monotonic(), True
                watcher = asyncio.create_task(watch_first_visible(http, phase, stop))
            tag = phase.after_tag if killed else phase.tag
            writes.append(asyncio.create_task(write(http, token, f"{tag} Lamp {n}", phase)))
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        await asyncio.gather(*writes)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            visible = await total(http, phase.tag) + await total(http, phase.after_tag)
            if visible >= len(phase.ids):
                break
            await asyncio.sleep(0.2)
        if watcher is not None:
            await asyncio.wait_for(watcher, timeout=5)
        stop.set()
        await health


def warehouse_counts(stack: LaunchedStack, ids: set[str]) -> dict[str, int]:
    with open_warehouse(stack.data_dir / "warehouse") as warehouse:
        rows = warehouse.execute(
            "SELECT product_id, count(*) FROM dim_product GROUP BY 1"
        ).fetchall()
    return {pid: int(count) for pid, count in rows if pid in ids}


async def settle_warehouse(stack: LaunchedStack, ids: set[str]) -> dict[str, int]:
    deadline = time.monotonic() + 120
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await asyncio.to_thread(warehouse_counts, stack, ids)
        if len(counts) == len(ids):
            break
        await asyncio.sleep(0.5)
    return counts


async def report(stack: LaunchedStack, phase: Phase) -> None:
    ids = set(phase.ids)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as http:
        searchable = await total(http, phase.tag) + await total(http, phase.after_tag)
    counts = await settle_warehouse(stack, ids)
    duplicated = sum(1 for c in counts.values() if c > 1)
    first = phase.first_visible_after_kill
    print(f"\n{phase.component} SIGKILL under writes:")
    print(f"  writes accepted {len(ids)}, refused or failed {phase.failed_writes}")
    print(f"  searchable {searchable} / {len(ids)} (lost: {len(ids) - searchable})")
    print(f"  in the warehouse {len(counts)} / {len(ids)}, duplicated {duplicated}")
    print(
        "  kill -> first write made after it searchable: "
        + (f"{first:.2f} s" if first is not None else "never")
    )
    print(f"  API health probes {phase.health_probes}, failed {phase.health_failures}")


async def main(rate: float, before: float, after: float, engines: str) -> None:
    print(f"bench/recovery on {machine()}; {rate:g} writes/s, kill after {before:g} s")
    killed = ("tansu", "worker") if engines == "embedded" else ("kafka", "worker", "search-node")
    with tempfile.TemporaryDirectory() as root:
        stack = LaunchedStack(Path(root) / "data", engines=engines)
        started = time.monotonic()
        await asyncio.to_thread(stack.start)
        print(
            f"storefront up --engines {engines}: healthy after {time.monotonic() - started:.1f} s"
        )
        try:
            for component in killed:
                phase = Phase(component)
                await run_phase(stack, phase, rate, before, after)
                await report(stack, phase)
        finally:
            await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=15.0)
    parser.add_argument("--engines", choices=("embedded", "production"), default="embedded")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.before, args.after, args.engines))
