"""bench/freshness: write -> searchable latency over 200 writes.

    .venv/bin/python bench/freshness [--writes 200] [--engines production]

Each write is a product creation or a stock change through the real API (in-process), then
the real path: outbox -> relay -> broker -> Faust worker -> index -> API reader. The broker
and index are Tansu and tantivy, or with `--engines production` Apache Kafka and the
OpenSearch node (`scripts/bootstrap engines` first). A stock change is timed until the
product index shows it and, separately, until the stock index does.
Goals: p99 < 1 s to the product index (issue #2), <= 300 ms to the stock index (issue #28).
Prints the numbers and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine, percentiles

import migrations
from api.app import create_app
from bootstrap.settings import Settings
from commerce.db import create_engine, session_factory, transaction
from commerce.identity.service import create_user
from demo import catalog as demo_catalog
from search import service
from search.query import ProductQuery
from search.stock import StockQuery
from storefront.embedded import EmbeddedStack
from storefront.processes import WorkerProcess

ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "correct-horse-battery-staple"
HEADERS: dict[str, str] = {}


async def visible(probe, check, what: object, deadline: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    """When `check` first held on what `probe()` read (polled every 2 ms)."""
    began = time.perf_counter()
    while time.perf_counter() - began < deadline:
        if check(await probe()):
            return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"not visible after {deadline}s: {what}")


def in_search(app, query: ProductQuery, check) -> Awaitable[float]:  # type: ignore[no-untyped-def]
    return visible(lambda: service.search(app.state.search, query), check, query)


async def run(writes: int, root: Path, production: bool) -> None:
    stack = EmbeddedStack(root / "services", production=production)
    env = stack.start()
    try:
        settings = Settings.model_validate(
            {
                **stack.urls,
                "search_engine": env.get("STOREFRONT_SEARCH_ENGINE", "elasticsearch"),
                "data_dir": root,
                "jwt_secret": secrets.token_urlsafe(48),
            }
        )
        migrations.upgrade(settings.require("database_url"))
        engine = create_engine(settings.require("database_url"))
        async with transaction(session_factory(engine)) as session:
            await demo_catalog.load(session, 0)
            await create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, role="ADMIN")
        await engine.dispose()
        worker = WorkerProcess(
            {
                **env,
                "STOREFRONT_DATA_DIR": str(root),
                "STOREFRONT_WORKER_METRICS_PORT": "0",
            },
            root / "worker.log",
        )
        worker.start()
        try:
            await measure(settings, writes)
        finally:
            worker.stop()
    finally:
        stack.stop()


async def measure(settings: Settings, writes: int) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            signed_in = await client.post(
                "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            HEADERS["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
            await write_and_wait(app, client)  # warm up the path once
            created, stocked, stock_index, answered = [], [], [], []
            for n in range(writes):
                began = time.perf_counter()
                if n % 2 == 0:
                    done = await write_and_wait(app, client)
                    created.append((done - began) * 1000)
                else:
                    in_search, in_stock = await stock_and_wait(app, client, n)
                    stocked.append((in_search - began) * 1000)
                    stock_index.append((in_stock - began) * 1000)
                answered.append((ANSWERED["at"] - began) * 1000)
    engines = "Apache Kafka + OpenSearch" if settings.elasticsearch_url else "Tansu + tantivy"
    print(f"machine: {machine()}; engines: {engines}")
    print(f"all writes     : {percentiles(created + stocked)}")
    print(f"product created: {percentiles(created)}")
    print(f"stock changed  : {percentiles(stocked)}")
    print(f"stock index    : {percentiles(stock_index)}")
    print(f"  of which the API's answer to the write: {percentiles(answered)}")


LAST_SKU: dict[str, str] = {}
#: When the API answered the last write (the rest is the pipeline).
ANSWERED: dict[str, float] = {}


async def write_and_wait(app, client: httpx.AsyncClient) -> float:  # type: ignore[no-untyped-def]
    name = f"zq{uuid.uuid4().hex[:10]}"
    sku = f"F-{uuid.uuid4().hex[:10]}"
    response = await client.post(
        "/api/admin/products",
        headers=HEADERS,
        json={
            "sku": sku,
            "name": f"{name} Lamp",
            "brand": "Acme",
            "category": "lighting",
            "price": "9.99",
        },
    )
    ANSWERED["at"] = time.perf_counter()
    assert response.status_code == 201, response.text
    LAST_SKU["sku"], LAST_SKU["name"] = sku, name
    return await in_search(app, ProductQuery(q=name), lambda r: r.total == 1)


async def stock_and_wait(app, client: httpx.AsyncClient, quantity: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """When the product index and when the stock index showed the new quantity."""
    response = await client.patch(
        f"/api/admin/inventory/{LAST_SKU['sku']}/stock",
        headers=HEADERS,
        json={"warehouse": "berlin", "quantity": quantity, "reason": "bench"},
    )
    ANSWERED["at"] = time.perf_counter()
    assert response.status_code == 200, response.text
    product = in_search(
        app,
        ProductQuery(q=LAST_SKU["name"]),
        lambda r: r.total == 1 and r.items[0].available == quantity,
    )
    berlin = StockQuery(q=LAST_SKU["sku"], warehouse=["berlin"])
    stock = visible(
        lambda: app.state.stock_index.search(berlin),
        lambda page: bool(page.items) and page.items[0].on_hand == quantity,
        berlin,
    )
    return await asyncio.gather(product, stock)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--engines", choices=("embedded", "production"), default="embedded")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    asyncio.run(run(args.writes, root, args.engines == "production"))
