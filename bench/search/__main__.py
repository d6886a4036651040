"""bench/search: searches built from real product names, on the embedded engine in-process
and through HTTP, on PostgreSQL full-text search with the same facets, and (`--engine`) on
the OpenSearch node from Maven jars, in-process and through HTTP, in one run.

    .venv/bin/python bench/search [--products 100000] [--queries 500] [--no-postgres] [--engine]

(`--engine` needs `scripts/bootstrap engines`.)

Goals (issue #15): 100k p95 <= 5 ms in-process and <= 15 ms through HTTP; 1M p95 <= 10 ms
in-process; >= 10x PostgreSQL at p95; suggest p95 <= 2 ms. Prints the numbers and machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import uvicorn

sys.path.append(str(Path(__file__).parent))  # postgres.py
sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
import postgres
from common import catalog, document_queries, machine, percentiles, typed_prefixes

from commerce.tracking.searches import SearchLog
from commerce.words import words
from search import service
from search.backend import SearchBackend
from search.elasticsearch_backend import ElasticsearchBackend
from search.plan import SearchPlan, SuggestPlan
from search.prices import PriceScale
from search.query import ProductQuery
from search.result_cache import SearchResultCache
from search.tantivy_backend import TantivyBackend
from search.tuning import FixedTuning, Tuning
from storefront.embedded import EmbeddedStack, create_database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def search_only_app(index: Path | SearchBackend):  # type: ignore[no-untyped-def]
    """The real search router over the index, without PostgreSQL/Redis (search needs neither)."""
    from fastapi import FastAPI

    from api import problems
    from api.routers import search

    @contextlib.asynccontextmanager
    async def closing(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        await app.state.search.close()  # in the server's loop, where its client lives

    app = FastAPI(lifespan=closing)
    problems.install(app)
    app.include_router(search.router)
    app.state.search = TantivyBackend(index) if isinstance(index, Path) else index
    # No result cache: this measures the engine (bench/api measures the cache's effect).
    app.state.search_results = SearchResultCache(app.state.search, FixedTuning(), size=0)
    # Searches are recorded in memory only (never written: there is no database here).
    app.state.searches = SearchLog(None, limit=0)  # type: ignore[arg-type]
    return app


def timed(run: Callable[[SearchPlan], int], plans: list[SearchPlan]) -> tuple[list[float], int]:
    """Milliseconds per plan (after 50 to warm up) and how many found something."""
    for plan in plans[:50]:
        run(plan)
    samples, found = [], 0
    for plan in plans:
        began = time.perf_counter()
        total = run(plan)
        samples.append((time.perf_counter() - began) * 1000)
        found += total > 0
    return samples, found


def p95(samples: list[float]) -> float:
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[94]


async def main(products: int, queries: int, with_postgres: bool, with_engine: bool) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        await measure(Path(folder), products, queries, with_postgres, with_engine)


async def measure(
    index: Path, products: int, queries: int, with_postgres: bool, with_engine: bool
) -> None:
    writer = TantivyBackend(index, writer=True)
    docs = catalog(products)
    start = time.perf_counter()
    for offset in range(0, len(docs), 10_000):
        await writer.apply(docs[offset : offset + 10_000])
    print(f"indexed {products:,} products in {time.perf_counter() - start:.1f} s")

    workload = document_queries(docs, queries)
    plans = [plan(query) for query in workload]
    vocabulary = {word for doc in docs for word in doc.name.lower().split()}
    typos = sum(any(word not in vocabulary for word in q.terms()) for q in workload)
    print(
        f"{len(plans)} searches from product names: {sum(bool(q.q) for q in workload)} with "
        f"words ({typos} with a typo), every sort, facets on"
    )
    reader = TantivyBackend(index)
    engine, found = timed(lambda p: reader.run_now(p).total, plans)
    print(f"tantivy in-process: {percentiles(engine)}; {found}/{len(plans)} found products")

    prefixes = typed_prefixes(docs, queries)
    suggests = [suggest_plan(typed) for typed in prefixes]
    for s in suggests[:50]:
        reader.suggest_now(s)
    samples = []
    for s in suggests:
        began = time.perf_counter()
        reader.suggest_now(s)
        samples.append((time.perf_counter() - began) * 1000)
    print(f"tantivy suggest: {percentiles(samples)}")

    print(f"through HTTP (uvicorn, one client): {percentiles(await over_http(index, workload))}")

    if with_postgres:
        sql, found = await asyncio.to_thread(on_postgres, docs, plans)
        print(f"PostgreSQL full-text search: {percentiles(sql)}; {found}/{len(plans)} found")
        print(f"tantivy is {p95(sql) / p95(engine):.0f}x faster at p95")
    if with_engine:
        await on_search_node(docs, plans, workload)


async def on_search_node(docs: list, plans: list[SearchPlan], workload: list[ProductQuery]) -> None:  # type: ignore[type-arg]
    """The same plans on the OpenSearch node (started here from its jars, stopped after)."""
    with tempfile.TemporaryDirectory() as folder:
        stack = EmbeddedStack(Path(folder), production=True)
        stack.restart("search-node")
        url = stack.urls["elasticsearch_url"]
        try:
            node = ElasticsearchBackend(url, "bench-products", "opensearch")
            await node.ensure_index()
            start = time.perf_counter()
            for offset in range(0, len(docs), 5_000):
                await node.apply(docs[offset : offset + 5_000])
            print(f"OpenSearch 2.19.6 indexed in {time.perf_counter() - start:.1f} s")
            for plan_ in plans[:50]:
                await node.run(plan_)
            samples, found = [], 0
            for plan_ in plans:
                began = time.perf_counter()
                found += (await node.run(plan_)).total > 0
                samples.append((time.perf_counter() - began) * 1000)
            print(f"OpenSearch in-process: {percentiles(samples)}; {found}/{len(plans)} found")
            await node.close()
            over = ElasticsearchBackend(url, "bench-products", "opensearch")
            print(f"OpenSearch through HTTP: {percentiles(await over_http(over, workload))}")
        finally:
            stack.stop()


async def over_http(index: Path | SearchBackend, workload: list[ProductQuery]) -> list[float]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(search_only_app(index), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.05)
    samples = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for query in workload[:50]:
            await client.get("/api/search", params=params(query))
        for query in workload:
            began = time.perf_counter()
            response = await client.get("/api/search", params=params(query))
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
    server.should_exit = True
    thread.join()
    return samples


def on_postgres(docs: list, plans: list[SearchPlan]) -> tuple[list[float], int]:  # type: ignore[type-arg]
    """The same plans on the embedded PostgreSQL (started here, stopped after)."""
    with tempfile.TemporaryDirectory() as folder:
        stack = EmbeddedStack(Path(folder))
        service_ = stack.restart("postgres")
        try:
            create_database(service_.port)
            dsn = stack.urls["database_url"].replace("postgresql+psycopg://", "postgresql://")
            start = time.perf_counter()
            postgres.load(dsn, docs)
            print(f"PostgreSQL loaded and indexed in {time.perf_counter() - start:.1f} s")
            with psycopg.connect(dsn, autocommit=True) as db:
                return timed(lambda p: postgres.run(db, p), plans)
        finally:
            stack.stop()


def plan(query: ProductQuery) -> SearchPlan:
    """The plan the API would run for `query` (no synonyms or rules, US dollars)."""
    return service.plan_for(query, Tuning(), PriceScale(), service.Placement())


def suggest_plan(typed: str) -> SuggestPlan:
    *complete, prefix = words(typed)
    return SuggestPlan(words=Tuning().synonyms.expand(complete), prefix=prefix)


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
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    parser.add_argument("--engine", action="store_true", help="also the OpenSearch node")
    args = parser.parse_args()
    asyncio.run(main(args.products, args.queries, args.postgres, args.engine))
