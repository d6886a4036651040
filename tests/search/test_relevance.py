"""The judged queries (judgments/demo.toml) are sound, and the embedded engine (and the
Elasticsearch API's, when there is one) meets the relevance goals on them (bench/relevance
prints the numbers, per backend and class)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bootstrap.settings import Settings
from demo.catalog import demo_catalog
from demo.judgments import PRODUCTS, judged_queries
from search.elasticsearch_backend import ElasticsearchBackend
from search.indexing import document
from search.relevance import JudgedQuery, Ranked, ndcg_at, precision_at, rank, report
from search.tantivy_backend import TantivyBackend
from search.tuning import read_synonyms_file, tuning_of
from tests.search.conftest import BOTH_ENGINES

CLASSES = {
    "exact name",
    "brand + type",
    "type + colour",
    "typo",
    "prefix",
    "synonym",
    "multi-word",
    "no good answer",
}


@pytest.fixture(scope="module")
def judged() -> list[JudgedQuery]:
    return judged_queries(demo_catalog(PRODUCTS))


@pytest.fixture(scope="module", params=BOTH_ENGINES)
async def ranked(
    request: pytest.FixtureRequest,
    judged: list[JudgedQuery],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[list[Ranked]]:
    """The judged queries ranked by the embedded engine, and by the Elasticsearch API's."""
    catalog = demo_catalog(PRODUCTS)
    engine: TantivyBackend | ElasticsearchBackend
    if request.param == "tantivy":
        engine = TantivyBackend(Path(tmp_path_factory.mktemp("relevance")), writer=True)
    else:
        settings: Settings = request.getfixturevalue("settings")
        engine = ElasticsearchBackend(
            settings.require("elasticsearch_url"),
            f"relevance-{uuid.uuid4().hex[:12]}",
            settings.search_engine,
        )
        await engine.ensure_index()
    await engine.apply(
        [document(p.snapshot, {p.snapshot.variants[0].id: p.available}) for p in catalog]
    )
    tuning = tuning_of(read_synonyms_file(Settings().synonyms_file), [], [])
    yield [await rank(engine, query, tuning) for query in judged]
    if isinstance(engine, ElasticsearchBackend):
        await engine.client.delete_index(f"{engine.alias}-*")
    await engine.close()


def test_at_least_80_queries_of_every_class(judged: list[JudgedQuery]) -> None:
    kinds = Counter(query.kind for query in judged)
    assert len(judged) >= 80
    assert set(kinds) == CLASSES
    assert min(kinds.values()) >= 8


def test_every_query_but_the_unanswerable_has_a_good_answer(judged: list[JudgedQuery]) -> None:
    for query in judged:
        good = [grade for grade in query.grades.values() if grade >= 2]
        assert bool(good) == (query.kind != "no good answer"), query.q


def test_ndcg_and_precision_by_hand() -> None:
    a, b, c = (object() for _ in range(3))
    grades = {a: 3, b: 1}
    assert ndcg_at([a, b], grades, 10) == 1  # type: ignore[arg-type]
    assert ndcg_at([c, a], grades, 10) == pytest.approx(  # type: ignore[arg-type]
        (7 / 1.584962500721156) / (7 + 1 / 1.584962500721156)
    )
    assert ndcg_at([a], {}, 10) is None  # type: ignore[arg-type]
    assert precision_at([c, a, b], grades, 5) == 1  # type: ignore[arg-type]  # 1 of 1 possible


async def test_each_engine_meets_the_goals(ranked: list[Ranked]) -> None:
    overall = report(ranked)[-1]
    assert overall.kind == "all"
    assert overall.ndcg is not None and overall.ndcg >= 0.9
    assert overall.missed == (), "no zero-result query that has a relevant product"
    unanswerable = [r for r in ranked if r.query.kind == "no good answer"]
    assert all(r.total == 0 for r in unanswerable), "nothing is better than anything"
