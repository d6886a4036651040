"""bench/freshness: write -> searchable latency over 200 writes on the embedded stack.

    .venv/bin/python bench/freshness [--writes 200]

Each write is a product creation or a stock change through the real API (in-process), then
the real path: outbox -> relay -> Tansu -> Faust worker -> tantivy commit -> API reader.
Goal (issue #2): p99 < 1 s. Prints the numbers and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine, percentiles

from api.app import create_app
from commerce.db import create_engine, session_factory, transaction
from commerce.identity.accounts import create_user
from search import service
from search.query import ProductQuery
from storefront import demo, migrate
from storefront.embedded import EmbeddedStack
from storefront.processes import WorkerProcess
from storefront.settings import Settings

ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "correct-horse-battery-staple"
HEADERS: dict[str, str] = {}


async def visible(app, query: ProductQuery, check, deadline: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    while time.perf_counter() - began < deadline:
        if check(await service.search(app.state.search, query)):
            return time.perf_counter()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"not visible after {deadline}s: {query}")


async def run(writes: int, root: Path) -> None:
    stack = EmbeddedStack(root / "services")
    env = stack.start()
    try:
        settings = Settings.model_validate(
            {
                **stack.urls,
                "data_dir": root,
                "jwt_secret": secrets.token_urlsafe(48),
                "stream_batch_seconds": 0.01,
            }
        )
        migrate.upgrade(settings.require("database_url"))
        engine = create_engine(settings.require("database_url"))
        async with transaction(session_factory(engine)) as session:
            await demo.load(session, 0)
            await create_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, role="ADMIN")
        await engine.dispose()
        worker = WorkerProcess(
            {
                **env,
                "STOREFRONT_DATA_DIR": str(root),
                "STOREFRONT_STREAM_BATCH_SECONDS": "0.01",
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
            created, stocked = [], []
            for n in range(writes):
                began = time.perf_counter()
                if n % 2 == 0:
                    done = await write_and_wait(app, client)
                    created.append((done - began) * 1000)
                else:
                    done = await stock_and_wait(app, client, n)
                    stocked.append((done - began) * 1000)
    print(f"machine: {machine()}")
    print(f"all writes     : {percentiles(created + stocked)}")
    print(f"product created: {percentiles(created)}")
    print(f"stock changed  : {percentiles(stocked)}")


LAST_SKU: dict[str, str] = {}


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
    assert response.status_code == 201, response.text
    LAST_SKU["sku"], LAST_SKU["name"] = sku, name
    return await visible(app, ProductQuery(q=name), lambda r: r.total == 1)


async def stock_and_wait(app, client: httpx.AsyncClient, quantity: int) -> float:  # type: ignore[no-untyped-def]
    response = await client.patch(
        f"/api/admin/inventory/{LAST_SKU['sku']}/stock",
        headers=HEADERS,
        json={"warehouse": "berlin", "quantity": quantity, "reason": "bench"},
    )
    assert response.status_code == 200, response.text
    return await visible(
        app,
        ProductQuery(q=LAST_SKU["name"]),
        lambda r: r.total == 1 and r.items[0].available == quantity,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.writes, Path(tempfile.mkdtemp(prefix="bench-freshness-"))))
