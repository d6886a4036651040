"""The embedded search engine: a tantivy index in a local folder (its layout in
`search.tantivy_schema`, its folders and generations in `search.tantivy_storage`).

One process writes (the stream worker); API processes open the same folder read-only and
reload before searching, so a commit is visible to them within milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Order, Query

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
    price_ranges,
)
from search.query import ProductDocument, Sort, wanted_combinations
from search.ranking import (
    CATEGORY_FACET_SIZE,
    FACET_SIZE,
    FUZZY_WEIGHT,
    OPTION_FACET_SIZE,
    PHRASE_BOOST,
    SKU_BOOST,
)
from search.tantivy_schema import (
    ENGLISH,
    FUZZY_FIELDS,
    PHRASE_FIELDS,
    PLAIN,
    TEXT_FIELDS,
    analyzers,
    to_fields,
)
from search.tantivy_storage import (
    CurrentPointer,
    active_folder,
    new_generation,
    open_index,
    publish,
)
from search.tantivy_writes import write_batch

#: How long a writer waits for a reindex to hand the new generation over.
HANDOVER_SECONDS = 600.0
#: Facet counts (and suggested brands and categories) run here, beside the search for hits.
FACET_THREADS = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="search-facets")
#: Categories a shop may have: every one is counted to add up its ancestors exactly.
CATEGORIES = 10_000
SORT_FIELDS: dict[Sort, tuple[str, Order]] = {
    Sort.price_asc: ("price", Order.Asc),
    Sort.price_desc: ("price", Order.Desc),
    Sort.newest: ("created_at", Order.Desc),
    Sort.rating: ("rating", Order.Desc),
    Sort.best_selling: ("units_sold", Order.Desc),
}


def subtree_counts(leaf_counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Products per category path, each counting its subtree, from the products per
    product's own path (each product is in one category): most first."""
    counts: dict[str, int] = {}
    for path, count in leaf_counts:
        slugs = path.split("/")
        for depth in range(1, len(slugs) + 1):
            ancestor = "/".join(slugs[:depth])
            counts[ancestor] = counts.get(ancestor, 0) + count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:CATEGORY_FACET_SIZE]


class TantivyBackend:
    """SearchBackend on tantivy; `writer=True` only in the one process that indexes.

    `path` is the search folder. After `storefront search reindex` the index lives in the
    generation CURRENT names; readers and the writer move to a new one when CURRENT
    changes (the writer waits until the reindex has handed it over).
    """

    def __init__(self, path: Path, *, writer: bool = False) -> None:
        self.path = path
        self.writes = writer
        self._analyzers = analyzers()
        self._write_lock = threading.Lock()
        self._writer: tantivy.IndexWriter | None = None
        self._current = CurrentPointer(path)
        self._open(active_folder(path))

    def _open(self, folder: Path) -> None:
        self.folder = folder
        self.index = open_index(folder)
        self.schema = self.index.schema
        if self.writes:
            self._writer = self._take_writer()

    def _take_writer(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + HANDOVER_SECONDS
        while True:
            try:
                return self.index.writer(heap_size=64_000_000, num_threads=1)
            except ValueError:
                # A reindex still writes the generation it just published.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _follow(self) -> None:
        """Move to the generation CURRENT names, if a reindex published a new one."""
        folder = active_folder(self.path)
        if folder == self.folder:
            return
        with self._write_lock:
            if folder == self.folder:
                return
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
            self._open(folder)

    # -- writing ---------------------------------------------------------------------------

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        """Upserts and deletions in one commit."""
        await asyncio.to_thread(self._follow)
        await write_batch(
            self._write_lock,
            self._writing,
            (("id", str(product_id)) for product_id in [*deletes, *(doc.id for doc in upserts)]),
            (tantivy.Document.from_dict(to_fields(doc), self.schema) for doc in upserts),
            lambda: self.index.reload(),  # the index of the generation the lock holder writes
        )

    def _writing(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise RuntimeError("this TantivyBackend was opened read-only")
        return self._writer

    async def ensure_index(self) -> bool:
        """Opening the folder made the index; there is nothing to create."""
        return False

    async def rebuild(self) -> TantivyRebuild:
        folder = new_generation(self.path)
        return TantivyRebuild(self.path, folder, TantivyBackend(folder, writer=True))

    async def close(self) -> None:
        if self._writer is not None:
            with self._write_lock:
                self._writer.wait_merging_threads()
            self._writer = None

    # -- reading ---------------------------------------------------------------------------

    async def run(self, plan: SearchPlan) -> EngineResult:
        return await asyncio.to_thread(self.run_now, plan)

    def generation(self) -> str | None:
        """Each commit replaces `meta.json` (a new inode): its identity is the generation."""
        folder = self._current.folder()
        try:
            meta = os.stat(folder / "meta.json")
        except FileNotFoundError:
            return None
        return f"{folder.name}:{meta.st_ino}:{meta.st_mtime_ns}:{meta.st_size}"

    async def document_count(self) -> int:
        def count() -> int:
            self._follow()
            self.index.reload()
            return int(self.index.searcher().num_docs)

        return await asyncio.to_thread(count)

    def run_now(self, plan: SearchPlan) -> EngineResult:
        """The blocking search: reload to see the writer's latest commit, then query."""
        self._follow()
        self.index.reload()
        searcher = self.index.searcher()
        text = self._text(plan)
        hits_query = self._query(text, plan.filters, plan, exclude=plan.hits_exclude)
        counting = self._count_facets(searcher, text, plan) if plan.facets else []
        hits, total = self._hits(searcher, hits_query, plan)
        facets = _read_all(counting, plan.price_edges) if plan.facets else None
        return EngineResult(hits=hits, total=total, facets=facets)

    async def suggest(self, plan: SuggestPlan) -> EngineSuggestions:
        return await asyncio.to_thread(self.suggest_now, plan)

    def suggest_now(self, plan: SuggestPlan) -> EngineSuggestions:
        """Products whose name has a word starting with the prefix (and every complete word),
        then the brands and categories whose names do."""
        self._follow()
        self.index.reload()
        searcher = self.index.searcher()
        prefix = self._analyzers[PLAIN].analyze(plan.prefix)
        if len(prefix) != 1:
            return EngineSuggestions()
        complete = [(Occur.Must, self._alternatives(words)) for words in plan.words]

        meant = [self._alternatives((synonym,)) for synonym in plan.prefix_synonyms]

        def starting(field: str) -> Query:
            last = self._prefix(field, prefix[0], plan.prefix_edits)
            if meant:
                last = Query.boolean_query([(Occur.Should, q) for q in [last, *meant]])
            return Query.boolean_query([*complete, (Occur.Must, last)])

        brands_counted = FACET_THREADS.submit(
            searcher.aggregate,
            starting("brand_plain"),
            {"b": {"terms": {"field": "brand", "size": 50}}},
        )
        paths_counted = FACET_THREADS.submit(
            searcher.aggregate,
            starting("category_plain"),
            {"c": {"terms": {"field": "category_path", "size": CATEGORIES}}},
        )
        found = searcher.search(starting("name_plain"), limit=plan.products)
        products = [_hit(searcher.doc(address), float(score)) for score, address in found.hits]
        brands = brands_counted.result()["b"]["buckets"]
        paths = paths_counted.result()["c"]["buckets"]
        return EngineSuggestions(
            products=products,
            brands=[(b["key"], int(b["doc_count"])) for b in brands],
            category_paths=subtree_counts((c["key"], int(c["doc_count"])) for c in paths),
        )

    def _prefix(self, field: str, prefix: str, edits: int) -> Query:
        """Words starting with `prefix`, or (scored lower) with a prefix `edits` away."""
        exact = Query.fuzzy_term_query(self.schema, field, prefix, distance=0, prefix=True)
        if not edits:
            return exact
        near = Query.fuzzy_term_query(self.schema, field, prefix, distance=edits, prefix=True)
        return Query.boolean_query(
            [(Occur.Should, Query.boost_query(exact, 2.0)), (Occur.Should, near)]
        )

    # -- compiling a plan -----------------------------------------------------------------

    def _query(
        self,
        text: Query | None,
        filters: Filters,
        plan: SearchPlan,
        *,
        exclude: tuple[uuid.UUID, ...] = (),
    ) -> Query:
        """Text AND filters (filters add nothing to the score) minus left-out products,
        plus the merchandiser's boosts."""
        must = [(Occur.Must, clause) for clause in self._filters(filters)]
        if text is None:
            # Filters only: every match scores alike, so the sort (or a boost) decides.
            core = Query.boolean_query(must) if must else Query.all_query()
            clauses = [(Occur.Must, Query.const_score_query(core, 1.0))]
        else:
            clauses = [(Occur.Must, text)]
            if must:
                clauses.append(
                    (Occur.Must, Query.const_score_query(Query.boolean_query(must), 0.0))
                )
        left_out = [str(i) for i in (*filters.exclude_ids, *exclude)]
        if left_out:
            clauses.append((Occur.MustNot, Query.term_set_query(self.schema, "id", left_out)))
        clauses += [(Occur.Should, boost) for boost in self._boosts(plan)]
        return Query.boolean_query(clauses)

    def _filters(self, filters: Filters) -> list[Query]:
        found: list[Query] = []
        if filters.brands:
            found.append(Query.term_set_query(self.schema, "brand", list(filters.brands)))
        if filters.categories:
            found.append(
                Query.term_set_query(self.schema, "category_slugs", list(filters.categories))
            )
        if filters.cents_min is not None or filters.cents_max is not None:
            low = filters.cents_min if filters.cents_min is not None else -(2**62)
            high = filters.cents_max if filters.cents_max is not None else 2**62
            found.append(Query.range_query(self.schema, "price", FieldType.Integer, low, high))
        if filters.in_stock is not None:
            found.append(Query.term_query(self.schema, "in_stock", int(filters.in_stock)))
        if filters.options:
            field = "option_combinations" + ("_in_stock" if filters.in_stock else "")
            wanted = wanted_combinations(filters.options)
            found.append(Query.term_set_query(self.schema, field, wanted))
        if filters.only_ids is not None:
            ids = [str(i) for i in filters.only_ids]
            found.append(Query.term_set_query(self.schema, "id", ids))
        return found

    def _boosts(self, plan: SearchPlan) -> list[Query]:
        fields = {Facet.brand: "brand", Facet.category: "category_slugs"}
        return [
            Query.const_score_query(
                Query.term_query(self.schema, fields[boost.field], boost.value), boost.weight
            )
            for boost in plan.boosts
        ]

    def _text(self, plan: SearchPlan) -> Query | None:
        """Every word (or `min_words` of them) must match one of its alternatives, or the
        query is an exact SKU; the whole query as a phrase in the name scores extra."""
        if not plan.words:
            return None
        alternatives = [self._alternatives(alternatives) for alternatives in plan.words]
        if plan.min_words is None:
            every_word = Query.boolean_query([(Occur.Must, word) for word in alternatives])
        else:
            every_word = Query.boolean_query(
                [(Occur.Should, word) for word in alternatives], plan.min_words
            )
        sku = Query.boost_query(Query.term_set_query(self.schema, "sku", plan.skus), SKU_BOOST)
        should = [(Occur.Should, every_word), (Occur.Should, sku)]
        phrase = self._stems(" ".join(words[0][0] for words in plan.words))
        if len(phrase) > 1:
            in_name = self._phrase_in("name", phrase)
            should.append((Occur.Should, Query.boost_query(in_name, PHRASE_BOOST)))
        # The phrase alone must not match: it only adds to a match of every word or the SKU.
        return Query.boolean_query([(Occur.Must, Query.boolean_query(should[:2])), *should[2:]])

    def _alternatives(self, alternatives: tuple[tuple[str, ...], ...]) -> Query:
        clauses = [
            self._word(words[0]) if len(words) == 1 else self._phrase(words)
            for words in alternatives
        ]
        return Query.boolean_query([(Occur.Should, clause) for clause in clauses])

    def _word(self, word: str) -> Query:
        """One word: its stem in any text field, or within its typo allowance of a word of
        the name, category or brand (scored lower)."""
        stems = self._stems(word)
        if len(stems) != 1:
            return self._phrase(tuple(stems)) if stems else Query.empty_query()
        should = [
            Query.boost_query(Query.term_query(self.schema, field, stems[0]), weight)
            for field, weight in TEXT_FIELDS.items()
        ]
        plain = self._analyzers[PLAIN].analyze(word)
        edits = fuzziness(word)
        if edits and len(plain) == 1:
            should += [
                Query.boost_query(
                    Query.fuzzy_term_query(self.schema, field, plain[0], distance=edits),
                    weight * FUZZY_WEIGHT,
                )
                for field, weight in FUZZY_FIELDS.items()
            ]
        return Query.boolean_query([(Occur.Should, q) for q in should])

    def _phrase(self, words: tuple[str, ...]) -> Query:
        stems = self._stems(" ".join(words))
        if len(stems) < 2:
            return self._word(stems[0]) if stems else Query.empty_query()
        return Query.boolean_query(
            [
                (Occur.Should, Query.boost_query(self._phrase_in(f, stems), w))
                for f, w in PHRASE_FIELDS.items()
            ]
        )

    def _stems(self, text: str) -> list[str]:
        return list(self._analyzers[ENGLISH].analyze(text))

    def _phrase_in(self, field: str, stems: list[str]) -> Query:
        words: list[str | tuple[int, str]] = [*stems]
        return Query.phrase_query(self.schema, field, words)

    # -- reading the answer ---------------------------------------------------------------

    def _hits(
        self, searcher: tantivy.Searcher, compiled: Query, plan: SearchPlan
    ) -> tuple[list[EngineHit], int]:
        if plan.size == 0:
            return [], int(searcher.search(compiled, limit=1, count=True).count or 0)  # type: ignore[attr-defined]
        if plan.sort in SORT_FIELDS:
            field, order = SORT_FIELDS[plan.sort]
            result = searcher.search(
                compiled,
                limit=plan.size,
                offset=plan.offset,
                count=True,
                order_by_field=field,
                order=order,
            )
            hits: list[tuple[float | None, tantivy.Document]] = [
                (None, searcher.doc(address)) for _, address in result.hits
            ]
        else:
            # Relevance, then rating: tantivy sorts on one key, so re-sort the window.
            result = searcher.search(compiled, limit=plan.offset + plan.size, count=True)
            docs = [(float(score), searcher.doc(address)) for score, address in result.hits]
            docs.sort(key=lambda pair: (-round(pair[0], 4), -float(_stored(pair[1], "rating"))))
            hits = [(score, doc) for score, doc in docs[plan.offset :]]
        # `count` exists at run time (count=True) but is missing from tantivy's stubs.
        total = int(result.count or 0)  # type: ignore[attr-defined]
        return [_hit(doc, score) for score, doc in hits], total

    def _count_facets(
        self, searcher: tantivy.Searcher, text: Query | None, plan: SearchPlan
    ) -> list[tuple[str | None, Future[dict[str, Any]]]]:
        """One aggregation over every filter, and one more per facet whose own filter is
        set, without it (a disjunctive facet); each (widened facet or None, its answer to
        come). They run beside the hits on other cores (tantivy lets go of the GIL)."""
        filters = plan.filters
        jobs = [(None, filters, _facet_names(filters))] + [
            (facet, filters.without(facet), [facet]) for facet in filters.active()
        ]
        return [
            (only, FACET_THREADS.submit(self._aggregate, searcher, text, wider, plan, wanted))
            for only, wider, wanted in jobs
        ]

    def _aggregate(
        self,
        searcher: tantivy.Searcher,
        text: Query | None,
        filters: Filters,
        plan: SearchPlan,
        wanted: list[str],
    ) -> dict[str, Any]:
        ranges = price_ranges(plan.price_edges)
        named = {
            Facet.brand: {"terms": {"field": "brand", "size": FACET_SIZE}},
            Facet.category: {"terms": {"field": "category_path", "size": CATEGORIES}},
            Facet.price: {"range": {"field": "price", "ranges": ranges}},
            Facet.stock: {"terms": {"field": "in_stock", "size": 2}},
            Facet.option: {
                "terms": {
                    "field": "option_values" + ("_in_stock" if filters.in_stock else ""),
                    "size": OPTION_FACET_SIZE,
                }
            },
        }
        aggregations = {facet: named[Facet(facet.partition(":")[0])] for facet in wanted}
        result: dict[str, Any] = searcher.aggregate(self._query(text, filters, plan), aggregations)
        return result


def _read_all(
    counting: list[tuple[str | None, Future[dict[str, Any]]]], edges: tuple[int, ...]
) -> EngineFacets:
    facets = EngineFacets()
    for only, answer in counting:
        _read(facets, answer.result(), edges, only=only)
    return facets


def _facet_names(filters: Filters) -> list[str]:
    """The facets counted with every filter: those whose own filter is not set."""
    active = set(filters.active())
    names = [str(f) for f in (Facet.brand, Facet.category, Facet.price, Facet.stock)]
    chosen = [name for name in names if name not in active]
    return [*chosen, str(Facet.option)]


def _read(
    facets: EngineFacets, result: dict[str, Any], edges: tuple[int, ...], *, only: str | None
) -> None:
    """Fill `facets` from one aggregation's answer (`only`: the one widened facet)."""
    for name, answer in result.items():
        buckets = answer.get("buckets", [])
        if name == Facet.brand:
            facets.brands = [(b["key"], int(b["doc_count"])) for b in buckets]
        elif name == Facet.category:
            facets.category_paths = subtree_counts((b["key"], int(b["doc_count"])) for b in buckets)
        elif name == Facet.price:
            facets.price = _price_counts(buckets, edges)
        elif name == Facet.stock:
            counts = {int(b["key"]): int(b["doc_count"]) for b in buckets}
            facets.in_stock, facets.out_of_stock = counts.get(1, 0), counts.get(0, 0)
        elif only is None or name.startswith(f"{Facet.option}:"):
            grouped = by_option([(str(b["key"]), int(b["doc_count"])) for b in buckets])
            if only is None:
                for option, values in grouped.items():
                    facets.options.setdefault(option, values)
            else:
                option = only.removeprefix(f"{Facet.option}:")
                facets.options[option] = grouped.get(option, [])


def _price_counts(buckets: list[dict[str, Any]], edges: tuple[int, ...]) -> list[int]:
    """Counts in bucket order; an empty index answers with no buckets, so match by bounds."""
    counts = {(_edge(b.get("from")), _edge(b.get("to"))): int(b["doc_count"]) for b in buckets}
    return [
        counts.get((low, high), 0) for low, high in zip((None, *edges), (*edges, None), strict=True)
    ]


def _edge(value: float | None) -> int | None:
    return None if value is None else int(value)


def _hit(doc: tantivy.Document, score: float | None) -> EngineHit:
    return EngineHit(
        id=uuid.UUID(_stored(doc, "id")),
        sku=_stored(doc, "sku"),
        name=_stored(doc, "name"),
        brand=_stored(doc, "brand"),
        category=_stored(doc, "category"),
        cents=int(_stored(doc, "price")),
        cents_max=int(_stored(doc, "price_max")),
        rating=float(_stored(doc, "rating")),
        available=int(_stored(doc, "available")),
        score=score,
    )


def _stored(doc: tantivy.Document, field: str) -> Any:
    value = doc.get_first(field)
    if value is None:
        raise KeyError(f"search document lacks stored field {field!r}")
    return value


@dataclass
class TantivyRebuild:
    """A new generation of the embedded index, written by its own writer; `swap` publishes
    it (one atomic rename) and readers and the worker follow."""

    root: Path
    folder: Path
    target: TantivyBackend

    @property
    def name(self) -> str:
        return self.folder.name

    async def swap(self) -> None:
        publish(self.root, self.folder)

    async def close(self) -> None:
        await self.target.close()
