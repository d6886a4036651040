"""Counters the domain's adapters keep (exported by whichever process serves /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

CACHE_LOOKUPS = Counter(
    "storefront_cache_lookups_total",
    "Redis cache lookups by cache and result.",
    ["cache", "result"],
)


def count_lookup(cache: str, hit: bool) -> None:
    CACHE_LOOKUPS.labels(cache, "hit" if hit else "miss").inc()
