"""bench/api: requests/s and latency through HTTP at 16 connections, measured with wrk.

    .venv/bin/python bench/api [--products 20000] [--seconds 10]

Runs `storefront up` as a user does on the demo catalog, waits until search holds all of
it, then drives three mixes with wrk (Debian's `wrk`, C, so the load generator costs little
of the 2 cores): the no-op `/api/health`; cached browse (first pages of categories and
brands); and a realistic search mix in which the top queries repeat (Zipf-weighted, with
filters, sorts and facets as a storefront sends them). Goals (issues 11 and 27): browse
>= 60 % and search >= 50 % of health's requests/s, p99 < 50 ms, with every search recorded
for analytics (wrk calls from one address: its per-address share is lifted here).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine

from demo.catalog import ADJECTIVES, BRAND_STEMS, COLOURS, TREE
from storefront.launched import LaunchedStack

CONNECTIONS = 16
LUA = """
paths = {%s}
counter = math.random(#paths)
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def zipf(items: list[str], total: int, rng: random.Random) -> list[str]:
    """`total` picks from `items`, the k-th most popular weighted 1/k, in random order."""
    weights = [1 / rank for rank in range(1, len(items) + 1)]
    return rng.choices(items, weights=weights, k=total)


def search_paths(rng: random.Random) -> list[str]:
    leaves = [leaf for children in TREE.values() for leaf in children]
    queries: list[str] = []
    for _ in range(200):
        words = rng.choice(
            [
                [rng.choice(COLOURS), rng.choice(leaves).rstrip("s")],
                [rng.choice(ADJECTIVES).lower(), rng.choice(COLOURS)],
                [rng.choice(BRAND_STEMS).lower()],
                [rng.choice(leaves)],
                [rng.choice(BRAND_STEMS).lower(), rng.choice(leaves).rstrip("s")],
            ]
        )
        params: dict[str, str] = {"q": " ".join(words)}
        if rng.random() < 0.3:
            params["in_stock"] = "true"
        if rng.random() < 0.2:
            params["sort"] = rng.choice(["price_asc", "price_desc", "rating", "newest"])
        if rng.random() < 0.15:
            params["price_max"] = str(rng.choice([50, 100, 250, 500]))
        if rng.random() < 0.1:
            params["page"] = "2"
        queries.append("/api/search?" + urlencode(params))
    return zipf(list(dict.fromkeys(queries)), 5000, rng)


def browse_paths(rng: random.Random) -> list[str]:
    pages = ["/api/products?size=20", "/api/products?size=20&page=2"]
    pages += [f"/api/products?category={c}&size=20" for c in TREE]
    pages += [f"/api/products?category={leaf}" for leaves in TREE.values() for leaf in leaves]
    pages += [f"/api/products?brand={b.lower()}" for b in BRAND_STEMS[:20]]
    return zipf(pages, 5000, rng)


def wrk(url: str, paths: list[str] | None, seconds: int, folder: Path) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if paths:
        script = folder / "paths.lua"
        script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[f"p{percentile}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def searches_recorded(stack: LaunchedStack) -> tuple[int, int]:
    """Searches the API wrote to the outbox during the runs, and in how many events."""
    import psycopg

    query = (
        "SELECT coalesce(sum(jsonb_array_length(event->'payload'->'searches')), 0), count(*) "
        "FROM outbox WHERE event->>'type' = 'search.answered' "
        "AND NOT event->>'aggregate_id' LIKE 'hist-%'"
    )
    state = json.loads((stack.data_dir / "stack.json").read_text())
    url = state["urls"]["database_url"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        searches, events = connection.execute(query).fetchone()  # type: ignore[misc]
    return int(searches), int(events)


def caught_up(stack: LaunchedStack) -> bool:
    pipeline = json.loads(stack.command("status", "--json").stdout)["pipeline"]
    return bool(pipeline) and all(c["behind"] == 0 for c in pipeline["consumers"])


def line(name: str, result: dict[str, float], base: float) -> str:
    return (
        f"{name:<34} {result['rps']:>8,.0f} req/s ({result['rps'] / base:>4.0%} of health)  "
        f"p50 {result['p50']:6.2f} ms  p90 {result['p90']:6.2f} ms  p99 {result['p99']:6.2f} ms"
        + (f"  non-2xx {result['non_2xx']:.0f}" if result["non_2xx"] else "")
    )


def main(products: int, seconds: int) -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench/api needs wrk: apt-get install wrk")
    print(f"bench/api on {machine()}; {products:,} demo products, {CONNECTIONS} connections")
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        stack = LaunchedStack(Path(folder) / "data", demo_products=products)
        # Every search recorded, as if each came from its own shopper: the worst case.
        stack.env["STOREFRONT_SEARCH_ANALYTICS_PER_MINUTE"] = str(10**6)
        started = time.monotonic()
        stack.start(timeout=600)
        up = time.monotonic() - started

        def searchable() -> int:
            return int(httpx.get(f"{stack.api_url}/api/search?size=1").json()["total"])

        stack.wait_for(lambda: searchable() >= products, 600, "search to hold the demo")
        print(
            f"'up' after {up:.1f} s; search held all {products:,} products after "
            f"{time.monotonic() - started - up:.1f} s more"
        )
        # Every consumer idle: the cache consumer's invalidations would empty the caches.
        stack.wait_for(lambda: caught_up(stack), 600, "every consumer to catch up")
        try:
            health = wrk(f"{stack.api_url}/api/health", None, seconds, Path(folder))
            mixes = {"browse": browse_paths(rng), "search": search_paths(rng)}
            cold = {
                name: wrk(stack.api_url, paths, seconds, Path(folder))
                for name, paths in mixes.items()
            }
            warm = {
                name: wrk(stack.api_url, paths, seconds, Path(folder))
                for name, paths in mixes.items()
            }
            recorded, recorded_events = searches_recorded(stack)
        finally:
            stack.stop()
    print(f"searches recorded for analytics: {recorded:,} ({recorded_events:,} outbox events)")
    print(line("health", health, health["rps"]))
    for name in ("browse", "search"):
        print(line(f"{name} (first run, caches cold)", cold[name], health["rps"]))
        print(line(f"{name} (second run, warm)", warm[name], health["rps"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    main(args.products, args.seconds)
