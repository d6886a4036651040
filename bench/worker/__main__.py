"""bench/worker: events/s through every projection, from a backlog.

    .venv/bin/python bench/worker [--products 20000] [--relay-in-worker]

Loads the demo catalog (its product.created and stock.adjusted events wait in the outbox),
then starts the relay and the worker as `storefront up` runs them, and times them until the
relay has published every event and every consumer has applied it: search (tantivy),
warehouse (Parquet), caches. A backlog this size is read from the outbox in pages
(streams.catch_up); the broker's copies are skipped. Goal (issue 11): >= 8,000 events/s
on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import psutil

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import Pipeline, cpu_by_part, embedded_stack, machine

from commerce.db import transaction
from demo import catalog as demo_catalog
from streams.monitoring import pipeline_status


def summarise(log: Path) -> None:
    """Batches per consumer from the worker's `applied` lines: how big, how long."""
    batches: dict[str, list[tuple[int, float]]] = {}
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"applied"' in line:
            entry = json.loads(line)
            batches.setdefault(entry["consumer"], []).append((entry["events"], entry["ms"]))
    for consumer, sizes in sorted(batches.items()):
        events = sum(n for n, _ in sizes)
        busy = sum(ms for _, ms in sizes)
        print(
            f"  {consumer:<11} {len(sizes):>4} batches, {events / len(sizes):6.0f} events each, "
            f"{busy / len(sizes):6.1f} ms each, {events / busy * 1000:8,.0f} events/s busy"
        )


async def main(products: int, relay_in_worker: bool) -> None:
    shape = "relay inside the worker" if relay_in_worker else "relay and worker, as `up` runs them"
    print(f"bench/worker on {machine()}; {products:,} demo products; {shape}")
    async with embedded_stack() as bench:
        async with transaction(bench.sessions) as session:
            await demo_catalog.load(session, products)
        async with bench.sessions() as session:
            backlog = (await pipeline_status(session)).outbox_backlog
        print(f"backlog: {backlog:,} events in the outbox")
        pipeline = Pipeline(bench, relay_in_worker=relay_in_worker)
        started = time.monotonic()
        pipeline.start()
        ready = time.monotonic() - started
        cpu_at_ready = cpu_by_part(psutil.Process())
        try:
            behind, last_report = backlog, time.monotonic()
            while behind:
                await asyncio.sleep(0.5)
                async with bench.sessions() as session:
                    status = await pipeline_status(session)
                behind = max(c.behind for c in status.consumers) + status.outbox_backlog
                if time.monotonic() - last_report >= 2:
                    last_report = time.monotonic()
                    lags = ", ".join(f"{c.consumer} {c.behind:,}" for c in status.consumers)
                    print(
                        f"  {last_report - started:5.1f} s: unpublished "
                        f"{status.outbox_backlog:,}; behind: {lags}"
                    )
            elapsed = time.monotonic() - started
            cpu = cpu_by_part(psutil.Process())
            cpu.subtract(cpu_at_ready)
        finally:
            pipeline.stop()
            summarise(pipeline.log)
    print(f"worker start to Ready: {ready:.1f} s")
    print(f"all consumers caught up after {elapsed:.1f} s from start")
    print(f"throughput: {backlog / (elapsed - ready):,.0f} events/s after Ready")
    print(f"            {backlog / elapsed:,.0f} events/s including start-up")
    busy = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in cpu.most_common())
    print(f"CPU from Ready until caught up: {busy} · {sum(cpu.values()):.1f} s in all")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--relay-in-worker", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.products, args.relay_in_worker))
