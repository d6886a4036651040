"""bench/relevance: the judged queries (src/demo/judgments/) on every backend.

    .venv/bin/python bench/relevance [--show-misses]

Indexes the demo catalog (20,000 products, as `storefront demo` loads them) into a fresh
tantivy index, and into a fresh Elasticsearch index when STOREFRONT_ELASTICSEARCH_URL is
set, runs each judged query with the shipped synonyms, and prints nDCG@10, precision@5 and
the zero-result rate per backend and per class of query.
Goals (issue #15): nDCG@10 >= 0.9; no zero-result query that has a relevant product.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parents[1]), str(Path(__file__).parents[2])]
from common import machine  # bench/common.py

from bootstrap.settings import Settings
from demo.catalog import demo_catalog
from demo.judgments import PRODUCTS, judged_queries
from search.backend import SearchBackend
from search.elasticsearch_backend import ElasticsearchBackend
from search.indexing import document
from search.relevance import JudgedQuery, Ranked, rank, report
from search.tantivy_backend import TantivyBackend
from search.tuning import Tuning, read_synonyms_file, tuning_of


async def main(show_misses: bool) -> None:
    print(f"machine: {machine()}")
    catalog = demo_catalog(PRODUCTS)
    docs = [document(p.snapshot, {p.snapshot.variants[0].id: p.available}) for p in catalog]
    queries = judged_queries(catalog)
    settings = Settings()
    tuning = tuning_of(read_synonyms_file(settings.synonyms_file), [], [])
    print(f"{len(queries)} judged queries over {len(docs):,} demo products")
    with tempfile.TemporaryDirectory() as folder:
        tantivy = TantivyBackend(Path(folder), writer=True)
        await tantivy.apply(docs)
        await measure("tantivy", tantivy, queries, tuning, show_misses)
        await tantivy.close()
    if settings.elasticsearch_url:
        elastic = ElasticsearchBackend(
            settings.elasticsearch_url, f"relevance-{uuid.uuid4().hex[:8]}", settings.search_engine
        )
        try:
            await elastic.ensure_index()
            for start in range(0, len(docs), 5000):
                await elastic.apply(docs[start : start + 5000])
            await measure(settings.search_engine, elastic, queries, tuning, show_misses)
        finally:
            await elastic.client.delete_index(f"{elastic.alias}-*")
            await elastic.close()
    else:
        print("elasticsearch: not run (STOREFRONT_ELASTICSEARCH_URL is not set)")


async def measure(
    name: str, backend: SearchBackend, queries: list[JudgedQuery], tuning: Tuning, show_misses: bool
) -> None:
    ranked = [await rank(backend, query, tuning) for query in queries]
    print(f"\n{name}")
    print(f"  {'class':<16}{'queries':>8}{'nDCG@10':>9}{'P@5':>7}{'zero':>7}  missed")
    for line in report(ranked):
        print(
            f"  {line.kind:<16}{line.queries:>8}{_f(line.ndcg):>9}{_f(line.precision):>7}"
            f"{line.zero_results:>7.0%}  {', '.join(line.missed) or '-'}"
        )
    if show_misses:
        _worst(ranked)


def _worst(ranked: list[Ranked]) -> None:
    scored = sorted((r for r in ranked if r.ndcg is not None), key=lambda r: r.ndcg or 0)
    for r in scored[:15]:
        print(f"  {r.ndcg:.2f}  {r.query.q!r} ({r.query.kind}): {r.total} found")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-misses", action="store_true", help="the 15 worst queries")
    args = parser.parse_args()
    asyncio.run(main(args.show_misses))
