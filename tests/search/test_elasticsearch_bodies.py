"""The request bodies the Elasticsearch backend sends, for representative searches, against
golden files a person has read (tests/search/golden). No server is needed: when a compile
changes, the diff shows what Elasticsearch would now be asked, and someone reads it again.

Regenerate after an intended change: `pytest tests/search/test_elasticsearch_bodies.py
--update-golden`, then read `git diff tests/search/golden`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commerce.merchandising.schemas import RuleOut, SynonymIn
from search import service
from search.elasticsearch_backend import index_definition, result_of, search_body, suggest_bodies
from search.plan import (
    EngineFacets,
    EngineResult,
    EngineSuggestions,
    Filters,
    SearchPlan,
    SuggestPlan,
)
from search.prices import PriceScale
from search.query import ProductDocument, ProductQuery
from search.tuning import Tuning, read_synonyms_file, tuning_of
from tests.search.contract import NOW

GOLDEN = Path(__file__).parent / "golden"
SHIPPED = read_synonyms_file(Path(service.__file__).parent / "synonyms.txt")
PINNED, BURIED, HIDDEN = (uuid.UUID(int=n) for n in (1, 2, 3))
EUR = PriceScale("EUR", Decimal("0.8567"), date(2026, 11, 20))
JPY = PriceScale("JPY", Decimal("155.31"), date(2026, 11, 20))


def rule(**fields: object) -> RuleOut:
    return RuleOut.model_validate({"id": uuid.UUID(int=99), "created_at": NOW, **fields})


SYNONYMS = tuning_of(SHIPPED, [SynonymIn(terms=["t shirt", "tee"])], [])
RULES = tuning_of(
    [],
    [],
    [
        rule(
            query="lamp",
            pin=[{"product_id": str(PINNED), "position": 2}],
            bury=[str(BURIED)],
            hide=[str(HIDDEN)],
        ),
        rule(query="desk lamp", boost_brands=[{"value": "Acme", "weight": 5}]),
        rule(category="lighting", boost_categories=[{"value": "lighting", "weight": 3}]),
    ],
)

#: name -> (query, tuning, prices)
SEARCHES: dict[str, tuple[dict[str, Any], Tuning, PriceScale]] = {
    "browse-everything": ({}, Tuning(), PriceScale()),
    "one-word": ({"q": "lamp"}, Tuning(), PriceScale()),
    "two-words-phrase-boost": ({"q": "desk lamp"}, Tuning(), PriceScale()),
    "short-word-no-typos": ({"q": "oak"}, Tuning(), PriceScale()),
    "long-word-two-typos": ({"q": "headphnoes"}, Tuning(), PriceScale()),
    "exact-sku": ({"q": "SKU-000123"}, Tuning(), PriceScale()),
    "synonym-both-ways": ({"q": "smart tv"}, SYNONYMS, PriceScale()),
    "synonym-one-way": ({"q": "sneakers"}, SYNONYMS, PriceScale()),
    "synonym-phrase": ({"q": "t-shirt"}, SYNONYMS, PriceScale()),
    "brand": ({"brands": ("Acme",)}, Tuning(), PriceScale()),
    "brands-or": ({"brands": ("Acme", "Beam")}, Tuning(), PriceScale()),
    "category-subtree": ({"categories": ("electronics",)}, Tuning(), PriceScale()),
    "categories-or": ({"categories": ("lighting", "garden")}, Tuning(), PriceScale()),
    "price-range-usd": (
        {"price_min": Decimal("19.99"), "price_max": Decimal(100)},
        Tuning(),
        PriceScale(),
    ),
    "price-min-only": ({"price_min": Decimal(250)}, Tuning(), PriceScale()),
    "in-stock": ({"in_stock": True}, Tuning(), PriceScale()),
    "out-of-stock": ({"in_stock": False}, Tuning(), PriceScale()),
    "option": ({"options": {"size": ("M",)}}, Tuning(), PriceScale()),
    "options-or-and": (
        {"options": {"size": ("L", "M"), "colour": ("blue",)}},
        Tuning(),
        PriceScale(),
    ),
    "option-in-stock": ({"options": {"size": ("M",)}, "in_stock": True}, Tuning(), PriceScale()),
    "everything-at-once": (
        {
            "q": "wireless headphones",
            "brands": ("Acme",),
            "categories": ("electronics",),
            "price_max": Decimal(300),
            "in_stock": True,
            "options": {"colour": ("black",)},
            "sort": "price_asc",
        },
        SYNONYMS,
        PriceScale(),
    ),
    "euro-price-filter": (
        {"currency": "EUR", "price_min": Decimal(100), "price_max": Decimal(200)},
        Tuning(),
        EUR,
    ),
    "yen-buckets": ({"currency": "JPY", "q": "camera"}, Tuning(), JPY),
    "sort-price-asc": ({"sort": "price_asc"}, Tuning(), PriceScale()),
    "sort-price-desc": ({"sort": "price_desc", "q": "lamp"}, Tuning(), PriceScale()),
    "sort-newest": ({"sort": "newest"}, Tuning(), PriceScale()),
    "sort-rating": ({"sort": "rating"}, Tuning(), PriceScale()),
    "sort-best-selling": (
        {"sort": "best_selling", "categories": ("shoes",)},
        Tuning(),
        PriceScale(),
    ),
    "deep-page": ({"q": "lamp", "page": 3, "size": 50}, Tuning(), PriceScale()),
    "rule-pin-bury-hide": ({"q": "Lamp"}, RULES, PriceScale()),
    "rule-boost-brand": ({"q": "desk lamp"}, RULES, PriceScale()),
    "rule-category-boost": ({"categories": ("lighting",)}, RULES, PriceScale()),
    "query-syntax-is-words": ({"q": 'name:(desk OR x) AND "lamp*'}, Tuning(), PriceScale()),
}
SUGGESTS = {
    "suggest-prefix": "hea",
    "suggest-after-words": "desk la",
    "suggest-typo": "haedp",
    "suggest-synonym": "red sneak",
}


@dataclass
class Recorder:
    """A backend that records the bodies it would send and says it found `total` products
    (none: the service asks again with fewer of the words)."""

    total: int = 1
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def run(self, plan: SearchPlan) -> EngineResult:
        self.bodies.append(search_body(plan))
        return EngineResult(hits=[], total=self.total, facets=EngineFacets())

    async def suggest(self, plan: SuggestPlan) -> EngineSuggestions:
        self.bodies += suggest_bodies(plan)
        return EngineSuggestions()

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        raise NotImplementedError

    def generation(self) -> str | None:
        return None

    async def document_count(self) -> int:
        return 0

    async def close(self) -> None:
        pass


def check(name: str, produced: object, update: bool) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(produced, indent=2, sort_keys=True, default=str) + "\n"
    if update:
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with --update-golden and read it"
    assert json.loads(text) == json.loads(path.read_text()), f"{name} changed: see its diff"


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.mark.parametrize("name", SEARCHES)
async def test_search_bodies(name: str, update: bool) -> None:
    query, tuning, scale = SEARCHES[name]
    recorder = Recorder()
    await service.search(recorder, ProductQuery(**query), tuning, scale)
    check(name, recorder.bodies, update)


async def test_a_search_no_product_matches_asks_again_with_fewer_words(update: bool) -> None:
    recorder = Recorder(total=0)
    await service.search(recorder, ProductQuery(q="black leather jacket"), Tuning())
    check("fewer-words", recorder.bodies, update)


@pytest.mark.parametrize("name", SUGGESTS)
async def test_suggest_bodies(name: str, update: bool) -> None:
    recorder = Recorder()
    await service.suggest(recorder, SUGGESTS[name], SYNONYMS)
    check(name, recorder.bodies, update)


def test_index_definition(update: bool) -> None:
    check("index-definition", index_definition(), update)


def test_there_are_thirty_representative_searches() -> None:
    assert len(SEARCHES) + len(SUGGESTS) + 1 >= 30
    assert {path.stem for path in GOLDEN.glob("*.json")} == {
        *SEARCHES,
        *SUGGESTS,
        "fewer-words",
        "index-definition",
    }, "every golden file belongs to a case"


def test_an_answer_is_read_into_hits_and_widened_facets() -> None:
    """Elasticsearch's answer shape (as documented), read back: hits, total, and an option
    facet widened under its own filter replacing the narrowed one."""
    plan = SearchPlan(filters=Filters(options={"size": ("M",)}), price_edges=(2500,))

    def buckets(*pairs: tuple[object, int]) -> dict[str, Any]:
        return {"values": {"buckets": [{"key": k, "doc_count": n} for k, n in pairs]}}

    answer = {
        "hits": {
            "total": {"value": 7, "relation": "eq"},
            "hits": [
                {
                    "_score": 1.5,
                    "_source": {
                        "id": str(PINNED),
                        "sku": "S-1",
                        "name": "Tee",
                        "brand": "Acme",
                        "category": "shirts",
                        "price": 1999,
                        "price_max": 2499,
                        "rating": 4.5,
                        "available": 3,
                    },
                }
            ],
        },
        "aggregations": {
            "brand": buckets(("Acme", 5), ("Beam", 2)),
            "category": buckets(("fashion", 7), ("fashion/shirts", 7)),
            "price": buckets(("*-2500.0", 6), ("2500.0-*", 1)),
            "stock": buckets((1, 6), (0, 1)),
            "option": buckets(("size=M", 7), ("colour=red", 4)),
            "option:size": buckets(("size=M", 7), ("size=L", 3)),
        },
    }
    result = result_of(plan, answer)
    assert result.total == 7 and result.hits[0].cents == 1999 and result.hits[0].score == 1.5
    facets = result.facets
    assert facets is not None
    assert facets.brands == [("Acme", 5), ("Beam", 2)] and facets.price == [6, 1]
    assert (facets.in_stock, facets.out_of_stock) == (6, 1)
    assert facets.options == {"size": [("M", 7), ("L", 3)], "colour": [("red", 4)]}
