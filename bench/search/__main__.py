"""bench/search: 100,000 products, 500 mixed queries, in-process and through HTTP.

    .venv/bin/python bench/search [--products 100000] [--queries 500]

Goal (issue #2): in-process p95 < 20 ms. Prints the numbers and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import catalog, machine, mixed_queries, percentiles

from commerce.tracking.searches import SearchLog
from search import service
from search.plan import SearchPlan
from search.prices import PriceScale
from search.query import ProductQuery
from search.result_cache import SearchResultCache
from search.tantivy_backend import TantivyBackend
from search.tuning import FixedTuning, Tuning


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def search_only_app(index: Path):  # type: ignore[no-untyped-def]
    """The real search router over the index, without PostgreSQL/Redis (search needs neither)."""
    from fastapi import FastAPI

    from api import problems
    from api.routers import search

    app = FastAPI()
    problems.install(app)
    app.include_router(search.router)
    app.state.search = TantivyBackend(index)
    # No result cache: this measures the engine (bench/api measures the cache's effect).
    app.state.search_results = SearchResultCache(app.state.search, FixedTuning(), size=0)
    # Searches are recorded in memory only (never written: there is no database here).
    app.state.searches = SearchLog(None, limit=0)  # type: ignore[arg-type]
    return app


async def main(products: int, queries: int) -> None:
    print(f"machine: {machine()}")
    index = Path(tempfile.mkdtemp(prefix="bench-search-"))
    writer = TantivyBackend(index, writer=True)
    docs = catalog(products)
    start = time.perf_counter()
    for offset in range(0, len(docs), 10_000):
        await writer.apply(docs[offset : offset + 10_000])
    print(f"indexed {products:,} products in {time.perf_counter() - start:.1f} s")

    workload = mixed_queries(queries)
    reader = TantivyBackend(index)
    for query in workload[:50]:  # warm up
        reader.run_now(plan(query))
    samples, hits = [], 0
    for query in workload:
        began = time.perf_counter()
        result = reader.run_now(plan(query))
        samples.append((time.perf_counter() - began) * 1000)
        hits += result.total > 0
    print(f"in-process: {percentiles(samples)}; {hits}/{len(workload)} queries had hits")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(search_only_app(index), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for query in workload[:50]:
            await client.get("/api/search", params=params(query))
        samples = []
        for query in workload:
            began = time.perf_counter()
            response = await client.get("/api/search", params=params(query))
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
    print(f"through HTTP (uvicorn, one client): {percentiles(samples)}")
    server.should_exit = True
    thread.join()


def plan(query: ProductQuery) -> SearchPlan:
    """The plan the API would run for `query` (no synonyms or rules, US dollars)."""
    return service.plan_for(query, Tuning(), PriceScale(), service.Placement())


def params(query):  # type: ignore[no-untyped-def]
    values = query.model_dump(exclude_none=True, exclude={"brands", "categories", "options"})
    return [
        *values.items(),
        *(("brand", b) for b in query.brands),
        *(("category", c) for c in query.categories),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.products, args.queries))
