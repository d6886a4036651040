"""bench/import: a catalog CSV into PostgreSQL, then until search holds all of it.

    .venv/bin/python bench/import [--products 25000] [--sizes 4] [--pipeline-after]

Writes a CSV of `products` x `sizes` variants (stock in one or two warehouses), starts the
relay and the worker as `storefront up` runs them, imports the file the way
`storefront import products` does, and times (1) the import: variants/s into PostgreSQL,
rows, ledger and outbox events committed; (2) from the import's end until search holds every
product with its variants and the warehouse every event. Goals (issue 12): >= 5,000
variants/s, and searchable within 60 s of the import ending.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import BenchStack, Pipeline, embedded_stack, machine

from commerce.catalog.imports import import_products
from commerce.db import transaction
from demo import catalog as demo_catalog
from search.tantivy_backend import TantivyBackend
from streams.monitoring import pipeline_status

SIZES = ("XS", "S", "M", "L", "XL", "XXL")
WAREHOUSES = ("berlin", "dallas", "osaka", "toronto")


def catalog_csv(products: int, sizes: int) -> bytes:
    lines = [
        "product_sku,name,description,brand,category,price,rating,options,variant_sku,"
        "variant_price,stock"
    ]
    for number in range(products):
        sku = f"IMP-{number:07d}"
        for index, size in enumerate(SIZES[:sizes]):
            head = (
                f"{sku},Import Tee {number},Soft cotton tee number {number},Brand {number % 40},"
                f"shirts,{10 + number % 90}.90,{number % 5}.5"
                if index == 0
                else f"{sku},,,,,,"
            )
            stock = f"{WAREHOUSES[number % 4]}={number % 25};{WAREHOUSES[(number + 1) % 4]}=3"
            lines.append(f"{head},size={size},{sku}-{size},,{stock}")
    return ("\n".join(lines) + "\n").encode()


async def main(products: int, sizes: int, after: bool) -> None:
    variants = products * sizes
    print(f"bench/import on {machine()}; {products:,} products x {sizes} sizes = {variants:,}")
    data = catalog_csv(products, sizes)
    print(f"file: {len(data) / 2**20:.1f} MiB")
    async with embedded_stack() as bench:
        async with transaction(bench.sessions) as session:
            await demo_catalog.load_reference_data(session)
        pipeline = Pipeline(bench)
        if not after:
            pipeline.start()
        try:
            started = time.monotonic()
            report = await import_products(bench.sessions, data)
            imported = time.monotonic()
            took = imported - started
            print(
                f"import ({'pipeline started after it' if after else 'beside the pipeline'}): "
                f"{took:.1f} s = {variants / took:,.0f} variants/s; {report.as_dict()}"
            )
            if after:
                pipeline.start()
            await until_caught_up(bench, products, imported)
        finally:
            pipeline.stop()


async def until_caught_up(bench: BenchStack, products: int, imported: float) -> None:
    """Print when search holds every product, then wait until every consumer caught up."""
    reader = TantivyBackend(bench.settings.search_dir)
    searchable = None
    while True:
        async with bench.sessions() as session:
            status = await pipeline_status(session)
        behind = {c.consumer: c.behind for c in status.consumers}
        search_done = searchable is None and not behind.get("search", 1)
        if search_done and await reader.document_count() == products:
            searchable = time.monotonic() - imported
            print(f"searchable (every product and variant) {searchable:.1f} s after")
        if searchable and not any(behind.values()) and not status.outbox_backlog:
            break
        await asyncio.sleep(0.25)
    print(
        f"every consumer (warehouse too) and the broker caught up "
        f"{time.monotonic() - imported:.1f} s after"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=25_000)
    parser.add_argument("--sizes", type=int, default=4, choices=range(1, len(SIZES) + 1))
    parser.add_argument(
        "--pipeline-after",
        action="store_true",
        help="start the relay and worker when the import ends (the import has both cores)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.products, args.sizes, args.pipeline_after))
