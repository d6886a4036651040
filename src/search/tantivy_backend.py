"""The embedded search engine: a tantivy index in a local folder.

One process writes (the stream worker); API processes open the same folder read-only and
reload before searching, so a commit is visible to them within milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Order, Query

from search.query import (
    FacetCount,
    Facets,
    PriceBucket,
    ProductDocument,
    ProductHit,
    ProductQuery,
    SearchResult,
    Sort,
    price_buckets,
    wanted_combinations,
)

#: Text fields and their weight: name over category (and brand) over description.
TEXT_FIELDS = {"name": 3.0, "category_text": 2.0, "brand_text": 2.0, "description": 1.0}
#: Typo-tolerant fields; a fuzzy match scores a fraction of an exact one.
FUZZY_FIELDS = ("name", "category_text", "brand_text")
FUZZY_WEIGHT = 0.3
FACET_SIZE = 50
OPTION_FACET_SIZE = 200
OPTION_FIELDS = (
    "option_values",
    "option_values_in_stock",
    "option_combinations",
    "option_combinations_in_stock",
)
SKU_BOOST = 10.0

SORT_FIELDS: dict[Sort, tuple[str, Order]] = {
    Sort.price_asc: ("price", Order.Asc),
    Sort.price_desc: ("price", Order.Desc),
    Sort.newest: ("created_at", Order.Desc),
    Sort.rating: ("rating", Order.Desc),
}


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for raw in ("id", "sku", "brand", "category"):
        builder.add_text_field(raw, stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("category_slugs", tokenizer_name="raw")
    builder.add_text_field("name", stored=True)
    for text in ("category_text", "brand_text", "description"):
        builder.add_text_field(text)
    # Variants' options: facet terms (`size=M`) and filter terms (combinations), each for all
    # variants and for those in stock (see ProductDocument).
    for options in OPTION_FIELDS:
        builder.add_text_field(
            options, fast=options.startswith("option_values"), tokenizer_name="raw"
        )
    builder.add_float_field("price", stored=True, indexed=True, fast=True)
    builder.add_float_field("price_max", stored=True)
    builder.add_float_field("rating", stored=True, fast=True)
    builder.add_unsigned_field("in_stock", indexed=True, fast=True)
    builder.add_integer_field("available", stored=True)
    builder.add_integer_field("created_at", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("version", stored=True)
    return builder.build()


def schema_matches(path: Path) -> bool:
    """False when `path` holds an index written with another schema (an older release)."""
    if not (path / "meta.json").exists():
        return True
    try:
        tantivy.Index(build_schema(), path=str(path), reuse=True)
    except ValueError:
        return False
    return True


def set_aside(path: Path) -> Path:
    """Move an outdated index out of the way (replacing an older one set aside)."""
    outdated = path.with_name(path.name + ".outdated")
    shutil.rmtree(outdated, ignore_errors=True)
    path.rename(outdated)
    return outdated


def open_index(path: Path) -> tantivy.Index:
    """Open the index in `path`, creating an empty one the first time."""
    path.mkdir(parents=True, exist_ok=True)
    return tantivy.Index(build_schema(), path=str(path), reuse=True)


def to_fields(doc: ProductDocument) -> dict[str, Any]:
    slugs = doc.category_path.split("/")
    return {
        "id": str(doc.id),
        "sku": doc.sku,
        "brand": doc.brand,
        "category": doc.category,
        "category_slugs": slugs,
        "name": doc.name,
        "category_text": " ".join(slug.replace("-", " ") for slug in slugs),
        "brand_text": doc.brand,
        "description": doc.description,
        "price": float(doc.price),
        "price_max": float(doc.price_max),
        "option_values": doc.option_values(),
        "option_values_in_stock": doc.option_values(in_stock=True),
        "option_combinations": doc.option_combinations(),
        "option_combinations_in_stock": doc.option_combinations(in_stock=True),
        "rating": float(doc.rating),
        "in_stock": int(doc.in_stock),
        "available": doc.available,
        "created_at": int(doc.created_at.astimezone(UTC).timestamp()),
        "version": doc.version,
    }


class TantivyBackend:
    """SearchBackend on tantivy; `writer=True` only in the one process that indexes."""

    def __init__(self, path: Path, *, writer: bool = False) -> None:
        self.path = path
        self.index = open_index(path)
        self.schema = self.index.schema
        self._writer = self.index.writer(heap_size=64_000_000, num_threads=1) if writer else None
        self._write_lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        """Upserts and deletions in one commit."""
        await asyncio.to_thread(self._apply, list(upserts), list(deletes))

    def _apply(self, upserts: list[ProductDocument], deletes: list[uuid.UUID]) -> None:
        if self._writer is None:
            raise RuntimeError("this TantivyBackend was opened read-only")
        with self._write_lock:
            for product_id in [*deletes, *(doc.id for doc in upserts)]:
                self._writer.delete_documents_by_term("id", str(product_id))
            for doc in upserts:
                self._writer.add_document(tantivy.Document.from_dict(to_fields(doc), self.schema))
            self._writer.commit()
            self.index.reload()

    async def close(self) -> None:
        if self._writer is not None:
            with self._write_lock:
                self._writer.wait_merging_threads()
            self._writer = None

    # -- reading ---------------------------------------------------------------------------

    async def search(self, query: ProductQuery) -> SearchResult:
        return await asyncio.to_thread(self.search_now, query)

    def generation(self) -> str | None:
        """Each commit replaces `meta.json` (a new inode): its identity is the generation."""
        try:
            meta = os.stat(self.path / "meta.json")
        except FileNotFoundError:
            return None
        return f"{meta.st_ino}:{meta.st_mtime_ns}:{meta.st_size}"

    async def document_count(self) -> int:
        def count() -> int:
            self.index.reload()
            return int(self.index.searcher().num_docs)

        return await asyncio.to_thread(count)

    def search_now(self, query: ProductQuery) -> SearchResult:
        """The blocking search: reload to see the writer's latest commit, then query."""
        self.index.reload()
        searcher = self.index.searcher()
        compiled = self._compile(query)
        hits, total = self._hits(searcher, compiled, query)
        facets = self._facets(searcher, compiled, query.in_stock)
        return SearchResult(
            items=hits, total=total, page=query.page, size=query.size, facets=facets
        )

    def _compile(self, query: ProductQuery) -> Query:
        clauses: list[tuple[Occur, Query]] = []
        if query.terms():
            clauses.append((Occur.Must, self._words_or_sku(query)))
        if query.brands:
            clauses.append(
                (Occur.Must, Query.term_set_query(self.schema, "brand", list(query.brands)))
            )
        if query.category:
            clauses.append(
                (Occur.Must, Query.term_query(self.schema, "category_slugs", query.category))
            )
        if query.price_min is not None or query.price_max is not None:
            clauses.append(
                (
                    Occur.Must,
                    Query.range_query(
                        self.schema,
                        "price",
                        FieldType.Float,
                        float(query.price_min) if query.price_min is not None else float("-inf"),
                        float(query.price_max) if query.price_max is not None else float("inf"),
                    ),
                )
            )
        if query.in_stock is not None:
            clauses.append(
                (Occur.Must, Query.term_query(self.schema, "in_stock", int(query.in_stock)))
            )
        if query.options:
            field = "option_combinations" + ("_in_stock" if query.in_stock else "")
            wanted = wanted_combinations(query.options)
            clauses.append((Occur.Must, Query.term_set_query(self.schema, field, wanted)))
        if not clauses:
            return Query.all_query()
        if not query.terms():
            # Filters only: every match scores alike, so the sort decides the order.
            return Query.const_score_query(Query.boolean_query(clauses), 1.0)
        return Query.boolean_query(clauses)

    def _words_or_sku(self, query: ProductQuery) -> Query:
        """Every word must match somewhere, or the whole query is a product's exact SKU."""
        words = Query.boolean_query([(Occur.Must, self._text(term)) for term in query.terms()])
        sku = Query.boost_query(Query.term_query(self.schema, "sku", query.q), SKU_BOOST)
        return Query.boolean_query([(Occur.Should, words), (Occur.Should, sku)])

    def _text(self, term: str) -> Query:
        """One word: exact in any text field, or within one edit in name, category or brand."""
        should = [
            Query.boost_query(Query.term_query(self.schema, field, term), weight)
            for field, weight in TEXT_FIELDS.items()
        ]
        if len(term) >= 3:
            should += [
                Query.boost_query(
                    Query.fuzzy_term_query(self.schema, field, term, distance=1),
                    TEXT_FIELDS[field] * FUZZY_WEIGHT,
                )
                for field in FUZZY_FIELDS
            ]
        return Query.boolean_query([(Occur.Should, q) for q in should])

    def _hits(
        self, searcher: tantivy.Searcher, compiled: Query, query: ProductQuery
    ) -> tuple[list[ProductHit], int]:
        if query.sort in SORT_FIELDS:
            field, order = SORT_FIELDS[query.sort]
            result = searcher.search(
                compiled,
                limit=query.size,
                offset=query.offset,
                count=True,
                order_by_field=field,
                order=order,
            )
            hits: list[tuple[float | None, tantivy.Document]] = [
                (None, searcher.doc(address)) for _, address in result.hits
            ]
        else:
            # Relevance, then rating: tantivy sorts on one key, so re-sort the window.
            result = searcher.search(compiled, limit=query.offset + query.size, count=True)
            docs = [(float(score), searcher.doc(address)) for score, address in result.hits]
            docs.sort(key=lambda pair: (-round(pair[0], 4), -float(_stored(pair[1], "rating"))))
            hits = [(score, doc) for score, doc in docs[query.offset :]]
        # `count` exists at run time (count=True) but is missing from tantivy's stubs.
        total = int(result.count or 0)  # type: ignore[attr-defined]
        return [self._hit(doc, score) for score, doc in hits], total

    @staticmethod
    def _hit(doc: tantivy.Document, score: float | None) -> ProductHit:
        available = int(_stored(doc, "available"))
        return ProductHit(
            id=uuid.UUID(_stored(doc, "id")),
            sku=_stored(doc, "sku"),
            name=_stored(doc, "name"),
            brand=_stored(doc, "brand"),
            category=_stored(doc, "category"),
            price=_money(_stored(doc, "price")),
            price_max=_money(doc.get_first("price_max") or _stored(doc, "price")),
            rating=float(_stored(doc, "rating")),
            available=available,
            in_stock=available > 0,
            score=score,
        )

    def _facets(self, searcher: tantivy.Searcher, compiled: Query, in_stock: bool | None) -> Facets:
        bounds = price_buckets()
        ranges = [
            {key: float(value) for key, value in (("from", low), ("to", high)) if value is not None}
            for low, high in bounds
        ]
        aggregations = {
            "brands": {"terms": {"field": "brand", "size": FACET_SIZE}},
            "categories": {"terms": {"field": "category", "size": FACET_SIZE}},
            "price": {"range": {"field": "price", "ranges": ranges}},
            "options": {
                "terms": {
                    "field": "option_values" + ("_in_stock" if in_stock else ""),
                    "size": OPTION_FACET_SIZE,
                }
            },
        }
        result = searcher.aggregate(compiled, aggregations)
        # An empty index answers with no buckets at all: match buckets by bounds, not position.
        counts = {
            (_bound(bucket.get("from")), _bound(bucket.get("to"))): int(bucket["doc_count"])
            for bucket in result["price"]["buckets"]
        }
        return Facets(
            brands=[
                FacetCount(value=b["key"], count=b["doc_count"])
                for b in result["brands"]["buckets"]
            ],
            categories=[
                FacetCount(value=b["key"], count=b["doc_count"])
                for b in result["categories"]["buckets"]
            ],
            price=[
                PriceBucket(min=low, max=high, count=counts.get((low, high), 0))
                for low, high in bounds
            ],
            options=_by_option(result["options"]["buckets"]),
        )


def _stored(doc: tantivy.Document, field: str) -> Any:
    value = doc.get_first(field)
    if value is None:
        raise KeyError(f"search document lacks stored field {field!r}")
    return value


def _by_option(buckets: list[dict[str, Any]]) -> dict[str, list[FacetCount]]:
    """`size=M` terms grouped by option name, most products first."""
    grouped: dict[str, list[FacetCount]] = {}
    for bucket in buckets:
        name, _, value = str(bucket["key"]).partition("=")
        grouped.setdefault(name, []).append(FacetCount(value=value, count=bucket["doc_count"]))
    return grouped


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _bound(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
