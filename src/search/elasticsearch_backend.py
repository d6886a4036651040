"""The production search engine: the Elasticsearch API (Elasticsearch 8/9 or OpenSearch 2).

Plans compile to request bodies with pure functions (`index_definition`, `search_body`,
`suggest_bodies`), so the bodies can be read and checked without a server
(tests/search/golden). Writes go through an alias: a reindex builds a new index and moves
the alias in one request, so searches never see a half-built index.

Disjunctive facets are Elasticsearch's usual shape: the facet filters go in `post_filter`
(they narrow the hits, not the aggregations) and each facet aggregates under a `filter`
of every facet filter but its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search.engine_clients import (
    Engine,
    IndexMissing,
    documents_in,
    engine_client,
    ensure_alias,
    new_index,
    write_all,
)
from search.indexing import index_fields
from search.plan import (
    EngineFacets,
    EngineHit,
    EngineResult,
    EngineSuggestions,
    Facet,
    Filters,
    SearchPlan,
    SuggestPlan,
    by_option,
    fuzziness,
    option_facet,
    price_ranges,
)
from search.query import ProductDocument, Sort, wanted_combinations
from search.ranking import (
    CATEGORY_FACET_SIZE,
    FACET_SIZE,
    FUZZY_WEIGHT,
    FUZZY_WEIGHTS,
    OPTION_FACET_SIZE,
    PHRASE_BOOST,
    PHRASE_WEIGHTS,
    SKU_BOOST,
    TEXT_WEIGHTS,
    boosted,
)

TEXT_FIELDS = boosted(TEXT_WEIGHTS)
FUZZY_FIELDS = boosted(FUZZY_WEIGHTS, ".plain")
PHRASE_FIELDS = boosted(PHRASE_WEIGHTS)
SOURCE = ["id", "sku", "name", "brand", "category", "price", "price_max", "rating", "available"]

SORTS: dict[Sort, list[Any]] = {
    Sort.relevance: [{"_score": "desc"}, {"rating": "desc"}],
    Sort.price_asc: [{"price": "asc"}],
    Sort.price_desc: [{"price": "desc"}],
    Sort.newest: [{"created_at": "desc"}],
    Sort.rating: [{"rating": "desc"}],
    Sort.best_selling: [{"units_sold": "desc"}],
}

KEYWORD = {"type": "keyword"}
PLAIN_SUBFIELDS = {
    "plain": {"type": "text", "analyzer": "storefront_plain"},
    "prefix": {
        "type": "text",
        "analyzer": "storefront_prefix",
        "search_analyzer": "storefront_plain",
    },
}


def index_definition() -> dict[str, Any]:
    """Settings and explicit mappings of the products index (valid for Elasticsearch 8)."""
    english = {"type": "text", "analyzer": "storefront_en"}
    return {
        "settings": {
            "number_of_shards": 1,
            "analysis": {
                "filter": {
                    "english_stemmer": {"type": "stemmer", "language": "english"},
                    "prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
                },
                "analyzer": {
                    "storefront_en": {
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "english_stemmer"],
                    },
                    "storefront_plain": {
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding"],
                    },
                    "storefront_prefix": {
                        "tokenizer": "standard",
                        "filter": ["lowercase", "asciifolding", "prefixes"],
                    },
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "id": KEYWORD,
                "sku": KEYWORD,
                "brand": KEYWORD,
                "category": KEYWORD,
                "category_slugs": KEYWORD,
                "category_paths": KEYWORD,
                "name": {**english, "fields": PLAIN_SUBFIELDS},
                "brand_text": {**english, "fields": PLAIN_SUBFIELDS},
                "category_text": {**english, "fields": PLAIN_SUBFIELDS},
                "description": english,
                "option_values": KEYWORD,
                "option_values_in_stock": KEYWORD,
                "option_combinations": KEYWORD,
                "option_combinations_in_stock": KEYWORD,
                # Exact US cents.
                "price": {"type": "long"},
                "price_max": {"type": "long", "index": False},
                "rating": {"type": "float"},
                "in_stock": {"type": "byte"},
                "available": {"type": "integer", "index": False},
                "created_at": {"type": "date", "format": "epoch_second"},
                "units_sold": {"type": "integer"},
                "version": {"type": "long", "index": False},
            },
        },
    }


# -- compiling plans -------------------------------------------------------------------------


def search_body(plan: SearchPlan) -> dict[str, Any]:
    """One request: hits after every filter, and each facet under every filter but its own."""
    body: dict[str, Any] = {
        "query": _query(plan),
        "from": plan.offset,
        "size": plan.size,
        "sort": SORTS[plan.sort],
        "track_total_hits": True,
        "_source": SOURCE,
    }
    post = _filters(plan.filters)
    hidden = [*plan.hits_exclude]
    if post or hidden:
        body["post_filter"] = _bool(filter=post, must_not=_ids(hidden))
    if plan.facets:
        body["aggs"] = _aggregations(plan)
    return body


def _bool(**clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {occur: found for occur, found in clauses.items() if found}}


def _ids(ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    return [{"terms": {"id": [str(i) for i in ids]}}] if ids else []


def _query(plan: SearchPlan) -> dict[str, Any]:
    text = _text(plan)
    must = [text] if text else []
    if not text:
        must = [{"match_all": {}}]
    boosts = [
        {
            "constant_score": {
                "filter": {"term": {_boost_field(boost.field): boost.value}},
                "boost": boost.weight,
            }
        }
        for boost in plan.boosts
    ]
    excluded = _ids(plan.filters.exclude_ids)
    return _bool(must=must, should=boosts, must_not=excluded)


def _boost_field(facet: Facet) -> str:
    return "brand" if facet == Facet.brand else "category_slugs"


def _text(plan: SearchPlan) -> dict[str, Any] | None:
    if not plan.words:
        return None
    words = [_alternatives(alternatives) for alternatives in plan.words]
    if plan.min_words is None:
        every_word = _bool(must=words)
    else:
        every_word = {"bool": {"should": words, "minimum_should_match": plan.min_words}}
    sku = {"terms": {"sku": plan.skus, "boost": SKU_BOOST}}
    matched = {"bool": {"should": [every_word, sku], "minimum_should_match": 1}}
    phrase = " ".join(slot[0][0] for slot in plan.words)
    if len(plan.words) < 2:
        return matched
    in_name = {"match_phrase": {"name": {"query": phrase, "boost": PHRASE_BOOST}}}
    return _bool(must=[matched], should=[in_name])


def _alternatives(alternatives: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    clauses = [_word(words[0]) if len(words) == 1 else _phrase(words) for words in alternatives]
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses}}


def _word(word: str) -> dict[str, Any]:
    exact = {"multi_match": {"query": word, "fields": list(TEXT_FIELDS), "type": "most_fields"}}
    edits = fuzziness(word)
    if not edits:
        return exact
    near = {
        "multi_match": {
            "query": word,
            "fields": list(FUZZY_FIELDS),
            "fuzziness": edits,
            "prefix_length": 0,
            "boost": FUZZY_WEIGHT,
        }
    }
    return {"bool": {"should": [exact, near]}}


def _phrase(words: tuple[str, ...]) -> dict[str, Any]:
    return {
        "multi_match": {"query": " ".join(words), "fields": list(PHRASE_FIELDS), "type": "phrase"}
    }


def _filters(filters: Filters) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if filters.brands:
        found.append({"terms": {"brand": list(filters.brands)}})
    if filters.categories:
        found.append({"terms": {"category_slugs": list(filters.categories)}})
    if filters.cents_min is not None or filters.cents_max is not None:
        bounds = {"gte": filters.cents_min, "lte": filters.cents_max}
        found.append({"range": {"price": {k: v for k, v in bounds.items() if v is not None}}})
    if filters.in_stock is not None:
        found.append({"term": {"in_stock": int(filters.in_stock)}})
    if filters.options:
        field = "option_combinations" + ("_in_stock" if filters.in_stock else "")
        found.append({"terms": {field: wanted_combinations(filters.options)}})
    if filters.only_ids is not None:
        found.append({"terms": {"id": [str(i) for i in filters.only_ids]}})
    return found


def _aggregations(plan: SearchPlan) -> dict[str, Any]:
    filters = plan.filters
    ranges = price_ranges(plan.price_edges)
    options_field = "option_values" + ("_in_stock" if filters.in_stock else "")
    inner: dict[str, dict[str, Any]] = {
        Facet.brand: {"terms": {"field": "brand", "size": FACET_SIZE}},
        Facet.category: {"terms": {"field": "category_paths", "size": CATEGORY_FACET_SIZE}},
        Facet.price: {"range": {"field": "price", "ranges": ranges}},
        Facet.stock: {"terms": {"field": "in_stock", "size": 2}},
        Facet.option: {"terms": {"field": options_field, "size": OPTION_FACET_SIZE}},
    }
    facets = [str(f) for f in (Facet.brand, Facet.category, Facet.price, Facet.stock)]
    wanted = {name: inner[Facet(name)] for name in facets}
    wanted[str(Facet.option)] = inner[Facet.option]
    for name in sorted(filters.options):
        include = {**inner[Facet.option]["terms"], "include": f"{_regex(name)}=.*"}
        wanted[option_facet(name)] = {"terms": include}
    aggregations: dict[str, Any] = {}
    for name, aggregation in wanted.items():
        own = name if name != Facet.option else None
        others = _filters(filters.without(own)) if own else _filters(filters)
        aggregations[name] = {
            "filter": _bool(filter=others) if others else {"match_all": {}},
            "aggs": {"values": aggregation},
        }
    return aggregations


def _regex(text: str) -> str:
    """`text` as a literal in Lucene's regular expression syntax."""
    return "".join(f"\\{c}" if not c.isalnum() else c for c in text)


def suggest_bodies(plan: SuggestPlan) -> list[dict[str, Any]]:
    """Three searches (for msearch): products, brands and categories starting with the prefix."""
    complete = [_alternatives(words) for words in plan.words]

    def starting(field: str) -> dict[str, Any]:
        exact = {"match": {f"{field}.prefix": {"query": plan.prefix, "boost": 2.0}}}
        near = {
            "match": {f"{field}.prefix": {"query": plan.prefix, "fuzziness": plan.prefix_edits}}
        }
        should = [exact, near] if plan.prefix_edits else [exact]
        should += [_alternatives((synonym,)) for synonym in plan.prefix_synonyms]
        return {
            "bool": {**_bool(must=complete)["bool"], "should": should, "minimum_should_match": 1}
        }

    return [
        {"query": starting("name"), "size": plan.products, "_source": SOURCE},
        {
            "query": starting("brand_text"),
            "size": 0,
            "aggs": {"values": {"terms": {"field": "brand", "size": 50}}},
        },
        {
            "query": starting("category_text"),
            "size": 0,
            "aggs": {"values": {"terms": {"field": "category_paths", "size": CATEGORY_FACET_SIZE}}},
        },
    ]


# -- reading answers -------------------------------------------------------------------------


def result_of(plan: SearchPlan, answer: dict[str, Any]) -> EngineResult:
    hits = [_hit(found) for found in answer["hits"]["hits"]]
    total = int(answer["hits"]["total"]["value"])
    return EngineResult(
        hits=hits, total=total, facets=_facets(plan, answer) if plan.facets else None
    )


def _hit(found: dict[str, Any]) -> EngineHit:
    source = found["_source"]
    return EngineHit(
        id=uuid.UUID(source["id"]),
        sku=source["sku"],
        name=source["name"],
        brand=source["brand"],
        category=source["category"],
        cents=int(source["price"]),
        cents_max=int(source["price_max"]),
        rating=float(source["rating"]),
        available=int(source["available"]),
        score=found.get("_score"),
    )


def _buckets(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = answer["aggregations"][name]["values"]["buckets"]
    return found


def _counts(answer: dict[str, Any], name: str) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in _buckets(answer, name)]


def _facets(plan: SearchPlan, answer: dict[str, Any]) -> EngineFacets:
    stock = {int(b["key"]): int(b["doc_count"]) for b in _buckets(answer, Facet.stock)}
    facets = EngineFacets(
        brands=_counts(answer, Facet.brand),
        category_paths=_counts(answer, Facet.category),
        price=[int(b["doc_count"]) for b in _buckets(answer, Facet.price)],
        in_stock=stock.get(1, 0),
        out_of_stock=stock.get(0, 0),
    )
    facets.options = by_option(_counts(answer, Facet.option))
    for name in plan.filters.options:
        facets.options[name] = by_option(_counts(answer, option_facet(name))).get(name, [])
    return facets


class ElasticsearchBackend:
    """SearchBackend on the Elasticsearch API (Elasticsearch 8/9 or OpenSearch 2): reads and
    writes go through the alias `index`."""

    def __init__(
        self, url: str, index: str = "storefront-products", engine: Engine = "elasticsearch"
    ) -> None:
        self.client = engine_client(url, engine)
        self.alias = index

    @classmethod
    def sharing(cls, other: ElasticsearchBackend, index: str) -> ElasticsearchBackend:
        """A backend on another index (or alias) through `other`'s client."""
        backend = cls.__new__(cls)
        backend.client, backend.alias = other.client, index
        return backend

    async def move_alias(self, index: str) -> None:
        """Point the alias at `index` alone, in one request, and delete what it pointed at."""
        previous = await self.client.alias_targets(self.alias)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": old, "alias": self.alias}} for old in previous
        ]
        actions.append({"add": {"index": index, "alias": self.alias, "is_write_index": True}})
        await self.client.update_aliases(actions)
        for old in previous:
            await self.client.delete_index(old)

    async def ensure_index(self) -> bool:
        """Create the first index behind the alias unless the alias exists; True if created."""
        return await ensure_alias(self.client, self.alias, index_definition())

    async def create_index(self, *, alias: bool) -> str:
        """A new, empty products index (named after the alias), behind the alias or not."""
        return await new_index(self.client, self.alias, index_definition(), behind_alias=alias)

    async def rebuild(self) -> EngineRebuild:
        name = await self.create_index(alias=False)
        return EngineRebuild(self, name, ElasticsearchBackend.sharing(self, name))

    async def run(self, plan: SearchPlan) -> EngineResult:
        try:
            answer = await self.client.search(self.alias, search_body(plan))
        except IndexMissing:
            # The worker creates the index on its first start; until then nothing is found.
            return EngineResult(hits=[], total=0, facets=EngineFacets() if plan.facets else None)
        return result_of(plan, answer)

    async def suggest(self, plan: SuggestPlan) -> EngineSuggestions:
        searches: list[dict[str, Any]] = []
        for body in suggest_bodies(plan):
            searches += [{"index": self.alias}, body]
        products, brands, categories = (await self.client.msearch(searches))["responses"]
        return EngineSuggestions(
            products=[_hit(found) for found in products["hits"]["hits"]],
            brands=[
                (b["key"], int(b["doc_count"])) for b in brands["aggregations"]["values"]["buckets"]
            ],
            category_paths=[
                (b["key"], int(b["doc_count"]))
                for b in categories["aggregations"]["values"]["buckets"]
            ],
        )

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        """One bulk request, refreshed before it returns (visible to the next search)."""
        actions: list[dict[str, Any]] = [
            {
                "_op_type": "index",
                "_index": self.alias,
                "_id": str(doc.id),
                "_source": index_fields(doc),
            }
            for doc in upserts
        ] + [{"_op_type": "delete", "_index": self.alias, "_id": str(i)} for i in deletes]
        await write_all(self.client, actions)

    def generation(self) -> str | None:
        """Unknown: Elasticsearch refreshes on its own (its request cache does the caching)."""
        return None

    async def document_count(self) -> int:
        return await documents_in(self.client, self.alias)

    async def close(self) -> None:
        await self.client.close()


@dataclass
class EngineRebuild:
    """A new index beside the alias's; `swap` moves the alias in one request and drops the
    old index."""

    alias: ElasticsearchBackend
    name: str
    target: ElasticsearchBackend

    async def swap(self) -> None:
        await self.alias.move_alias(self.name)

    async def close(self) -> None:
        """The target shares the alias's client, which its owner closes."""
