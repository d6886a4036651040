"""Shared by the benchmarks: the machine they ran on, an embedded stack with the relay and
worker as `up` runs them, percentiles, a synthetic catalog."""

from __future__ import annotations

import os
import platform
import random
import statistics
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from subprocess import Popen

import psutil
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import migrations
from bootstrap.settings import Settings
from commerce.db import create_engine, session_factory
from demo.catalog import ADJECTIVES, BRAND_STEMS, COLOURS, TREE, noun_of
from search.query import ProductDocument, ProductQuery, Sort
from storefront import processes
from storefront.embedded import EmbeddedStack
from storefront.processes import WorkerProcess


def machine() -> str:
    return (
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{platform.machine()}"
    )


def pipeline_env(stack_env: dict[str, str], root: Path, *, relay_in_worker: bool) -> dict[str, str]:
    """Environment of the relay and worker processes on an embedded stack, as `up` sets it
    (the caller's STOREFRONT_* settings passed on, worker metrics off)."""
    return {
        **stack_env,
        **{k: v for k, v in os.environ.items() if k.startswith("STOREFRONT_")},
        "STOREFRONT_DATA_DIR": str(root),
        "STOREFRONT_WORKER_METRICS_PORT": "0",
        "STOREFRONT_WORKER_RUNS_RELAY": str(relay_in_worker).lower(),
    }


@dataclass
class BenchStack:
    root: Path
    #: The environment the embedded services' clients need (for child processes).
    env: dict[str, str]
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def embedded_stack() -> AsyncIterator[BenchStack]:
    """A migrated embedded stack in a temporary folder, stopped (and removed) afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        stack = EmbeddedStack(root / "services")
        env = stack.start()
        try:
            settings = Settings.model_validate({**stack.urls, "data_dir": root})
            migrations.upgrade(settings.require("database_url"))
            engine = create_engine(settings.require("database_url"))
            try:
                yield BenchStack(root, env, settings, session_factory(engine))
            finally:
                await engine.dispose()
        finally:
            stack.stop()


class Pipeline:
    """The relay and worker processes on a bench stack, logging into its folder."""

    def __init__(self, bench: BenchStack, *, relay_in_worker: bool = False) -> None:
        self.env = pipeline_env(bench.env, bench.root, relay_in_worker=relay_in_worker)
        self.relay_in_worker = relay_in_worker
        self.log = bench.root / "worker.log"
        self.worker = WorkerProcess(self.env, self.log)
        self.relay: Popen[bytes] | None = None
        self._root = bench.root

    def start(self) -> None:
        """Spawn the relay (unless the worker runs it) and start the worker until it is up."""
        if not self.relay_in_worker:
            self.relay = processes.spawn(["relay"], self.env, self._root / "relay.log")
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        if self.relay is not None:
            processes.stop(self.relay)


def cpu_by_part(root: psutil.Process, *, include_root: bool = False) -> Counter[str]:
    """CPU seconds so far of the processes under `root`, by part of the stack."""
    parts: Counter[str] = Counter()
    for process in [root, *root.children(recursive=True)][0 if include_root else 1 :]:
        try:
            times, part = process.cpu_times(), _part(process)
        except psutil.NoSuchProcess:
            continue
        parts[part] += times.user + times.system
    return parts


def _part(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    if "storefront.cli" in command:
        part = command.split("storefront.cli", 1)[1].split()[0]
        # `up` runs two workers: the saga's consumers, and every projection.
        consumers = process.environ().get("STOREFRONT_WORKER_CONSUMERS", "")
        return "saga worker" if part == "worker" and '"payments"' in consumers else part
    return next((name for name in ("postgres", "redis", "tansu") if name in command), "other")


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"p50 {cut[49]:.2f} ms · p95 {cut[94]:.2f} ms · p99 {cut[98]:.2f} ms (n={len(ordered)})"


def catalog(count: int, seed: int = 7) -> list[ProductDocument]:
    rng = random.Random(seed)
    leaves = [(root, leaf) for root, children in TREE.items() for leaf in children]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = []
    for n in range(count):
        root, leaf = rng.choice(leaves)
        brand, colour = rng.choice(BRAND_STEMS), rng.choice(COLOURS)
        noun = noun_of(leaf)
        docs.append(
            ProductDocument(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                sku=f"B-{n:07d}",
                name=f"{brand} {rng.choice(ADJECTIVES)} {noun} {colour.title()}",
                description=f"A {colour} {noun.lower()} by {brand} for everyday {root}.",
                brand=brand,
                category=leaf,
                category_path=f"{root}/{leaf}",
                price=Decimal(rng.randint(199, 149_999)) / 100,
                rating=round(rng.uniform(2.5, 5), 1),
                available=0 if rng.random() < 0.1 else rng.randint(1, 500),
                created_at=start + timedelta(minutes=n),
                version=1,
            )
        )
    return docs


def typo(word: str, rng: random.Random) -> str:
    """One edit a hurried shopper makes: two letters swapped, one dropped or one wrong."""
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "wrong"])
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    return word[:at] + rng.choice("aeiourstln".replace(word[at], "")) + word[at + 1 :]


def document_queries(docs: list[ProductDocument], count: int, seed: int = 11) -> list[ProductQuery]:
    """Searches shoppers would make for real products: 1-3 words of a product's name (one in
    five with a typo, and some browsing with no words), filters the product passes (in stock,
    a price range around it, its brand or category), every sort in turn, pages 1-3 of 20."""
    rng = random.Random(seed)
    sorts = list(Sort)
    queries = []
    for number in range(count):
        doc = rng.choice(docs)
        name_words = doc.name.lower().split()
        terms = rng.sample(name_words, min(len(name_words), rng.choice([0, 1, 1, 2, 2, 3])))
        long_words = [i for i, t in enumerate(terms) if len(t) >= 5]
        if long_words and rng.random() < 0.2:
            at = rng.choice(long_words)
            terms[at] = typo(terms[at], rng)
        root, leaf = doc.category_path.split("/")
        pick = rng.random()
        queries.append(
            ProductQuery(
                q=" ".join(terms),
                brands=(doc.brand,) if pick < 0.15 else (),
                categories=(rng.choice([root, leaf]),) if 0.15 <= pick < 0.3 else (),
                price_min=(doc.price / 2).quantize(Decimal(1)) if rng.random() < 0.3 else None,
                price_max=(doc.price * 2).quantize(Decimal(1)) if rng.random() < 0.3 else None,
                in_stock=rng.choice([None, True]),
                sort=sorts[number % len(sorts)],
                page=rng.choice([1, 1, 1, 2, 3]),
                size=20,
            )
        )
    return queries


def typed_prefixes(docs: list[ProductDocument], count: int, seed: int = 13) -> list[str]:
    """What shoppers have typed so far: the start of a product's word (2-8 letters), after
    another word of its name one time in three."""
    rng = random.Random(seed)
    typed = []
    for _ in range(count):
        words = rng.choice(docs).name.lower().split()
        word = rng.choice(words)
        prefix = word[: rng.randint(2, max(2, min(8, len(word))))]
        before = [w for w in words if w != word]
        typed.append(
            f"{rng.choice(before)} {prefix}" if before and rng.random() < 1 / 3 else prefix
        )
    return typed


#: Orders placed over two years by `customers` customers, `lines` lines each, written by
#: PostgreSQL itself (generate_series): the history the analytics benchmarks read.
ORDER_HISTORY = [
    """
    INSERT INTO users (id, email, password_hash, first_name, last_name, role_id, active,
                       created_at)
    SELECT md5('bench-customer-' || n)::uuid, 'bench-' || n || '@load.example.com',
           'not-a-hash', 'Bench', 'Customer', (SELECT id FROM roles WHERE name = 'CUSTOMER'),
           true, timestamptz '2024-01-01' + n * interval '1 minute'
    FROM generate_series(1, :customers) AS n
    """,
    """
    CREATE TEMP TABLE bench_variants AS
    SELECT row_number() OVER (ORDER BY v.id) AS number, v.id, v.product_id, v.sku,
           p.name, coalesce(c.name, 'other') AS category
    FROM product_variants v JOIN products p ON p.id = v.product_id
    LEFT JOIN categories c ON c.id = p.category_id
    """,
    """
    INSERT INTO orders (id, customer_id, status, currency, rate, rate_date, subtotal, discount,
                        total, shipping_address, billing_address, paid_at, idempotency_key,
                        request_hash, expires_at, version, created_at, updated_at)
    SELECT md5('bench-order-' || n)::uuid,
           md5('bench-customer-' || (1 + (n::bigint * 7919) % :customers))::uuid,
           'CONFIRMED', c.currency, c.rate, date '2024-01-01', t.total, 0, t.total,
           '{}'::jsonb, '{}'::jsonb, placed + interval '1 minute', 'bench-' || n, 'x',
           placed + interval '15 minutes', 1, placed, placed
    FROM generate_series(1, :orders) AS n
    CROSS JOIN LATERAL (
        SELECT timestamptz '2024-01-01' + (n::float8 / :orders) * interval '730 days' AS placed
    ) p
    CROSS JOIN LATERAL (
        SELECT (ARRAY['USD', 'EUR', 'GBP', 'JPY'])[1 + n % 4] AS currency,
               (ARRAY[1, 0.92, 0.79, 150])[1 + n % 4]::numeric(20, 10) AS rate
    ) c
    CROSS JOIN LATERAL (
        SELECT sum((5 + (n * k) % 95) * (1 + (n + k) % 3))::numeric(14, 2) AS total
        FROM generate_series(1, :lines) AS k
    ) t
    """,
    """
    INSERT INTO order_lines (id, order_id, position, product_id, variant_id, sku, name,
                             category, options, quantity, unit_price, base_unit_price,
                             discount, total, returned_quantity)
    SELECT md5('bench-line-' || n || '-' || k)::uuid, md5('bench-order-' || n)::uuid, k,
           v.product_id, v.id, v.sku, v.name, v.category, '{}'::jsonb, 1 + (n + k) % 3,
           5 + (n * k) % 95, 5 + (n * k) % 95, 0, (5 + (n * k) % 95) * (1 + (n + k) % 3), 0
    FROM generate_series(1, :orders) AS n
    CROSS JOIN generate_series(1, :lines) AS k
    JOIN bench_variants v
      ON v.number = 1 + ((n * 31 + k * 17) % (SELECT count(*) FROM bench_variants))
    """,
    "ANALYZE users",
    "ANALYZE orders",
    "ANALYZE order_lines",
]


async def order_history(
    sessions: async_sessionmaker[AsyncSession],
    order_lines: int,
    lines_per_order: int = 4,
    products: int = 2000,
) -> int:
    """`order_lines` lines of paid orders in PostgreSQL; returns how many orders."""
    from sqlalchemy import text

    from commerce.db import transaction
    from demo import catalog as demo_catalog

    orders = order_lines // lines_per_order
    params = {"orders": orders, "lines": lines_per_order, "customers": max(100, orders // 5)}
    async with transaction(sessions) as session:
        await demo_catalog.load(session, products)
    async with transaction(sessions) as session:
        for statement in ORDER_HISTORY:
            await session.execute(text(statement), params)
    return orders
