"""Relevance measured the usual way: queries whose products a person graded 0-3, and how well
a backend ranks them (nDCG@10, precision@5, zero-result rate), per class of query.

A shop can judge its own queries; `demo/judgments/` holds the demo catalog's.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from search import service
from search.backend import SearchBackend
from search.query import ProductQuery
from search.tuning import Tuning

#: A product graded this or higher is a good answer (precision counts these).
RELEVANT = 2


@dataclass(frozen=True)
class JudgedQuery:
    q: str
    #: What kind of query it is (exact name, typo, synonym ...): results are reported by it.
    kind: str
    #: Grade of each product worth more than nothing (0: not an answer) by product id.
    grades: Mapping[uuid.UUID, int] = field(default_factory=dict)
    #: Typed, not submitted: measured on the suggest endpoint's product completions.
    as_you_type: bool = False

    @property
    def answerable(self) -> bool:
        return any(grade > 0 for grade in self.grades.values())


@dataclass(frozen=True)
class Ranked:
    query: JudgedQuery
    #: The first page, best first.
    ids: Sequence[uuid.UUID]
    total: int

    @property
    def ndcg(self) -> float | None:
        """nDCG@10 with gains 2^grade - 1; None when no product deserves to be found."""
        return ndcg_at(self.ids, self.query.grades, 10)

    @property
    def precision(self) -> float | None:
        """Good answers (grade >= 2) in the top 5, out of as many as there could be."""
        return precision_at(self.ids, self.query.grades, 5)


def dcg(grades: Iterable[int]) -> float:
    return math.fsum((2**grade - 1) / math.log2(rank + 2) for rank, grade in enumerate(grades))


def ndcg_at(ids: Sequence[uuid.UUID], grades: Mapping[uuid.UUID, int], k: int) -> float | None:
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    if ideal == 0:
        return None
    return dcg(grades.get(i, 0) for i in ids[:k]) / ideal


def precision_at(ids: Sequence[uuid.UUID], grades: Mapping[uuid.UUID, int], k: int) -> float | None:
    possible = min(k, sum(grade >= RELEVANT for grade in grades.values()))
    if possible == 0:
        return None
    return sum(grades.get(i, 0) >= RELEVANT for i in ids[:k]) / possible


async def rank(backend: SearchBackend, query: JudgedQuery, tuning: Tuning) -> Ranked:
    """The query as a shopper runs it: submitted to search, or typed into suggest."""
    if query.as_you_type:
        suggestions = await service.suggest(backend, query.q, tuning)
        ids = [product.id for product in suggestions.products]
        return Ranked(query, ids, len(ids))
    result = await service.search(backend, ProductQuery(q=query.q, size=10), tuning)
    return Ranked(query, [hit.id for hit in result.items], result.total)


@dataclass(frozen=True)
class ClassReport:
    kind: str
    queries: int
    #: Means over the queries with a good answer (None when there are none).
    ndcg: float | None
    precision: float | None
    zero_results: float
    #: Queries that found nothing although a product deserved to be found.
    missed: tuple[str, ...]


def report(ranked: Sequence[Ranked]) -> list[ClassReport]:
    """One line per class of query, then `all`."""
    kinds = sorted({r.query.kind for r in ranked})
    return [_line(k, [r for r in ranked if r.query.kind == k]) for k in kinds] + [
        _line("all", ranked)
    ]


def _line(kind: str, ranked: Sequence[Ranked]) -> ClassReport:
    ndcgs = [r.ndcg for r in ranked if r.ndcg is not None]
    precisions = [r.precision for r in ranked if r.precision is not None]
    return ClassReport(
        kind=kind,
        queries=len(ranked),
        ndcg=statistics.fmean(ndcgs) if ndcgs else None,
        precision=statistics.fmean(precisions) if precisions else None,
        zero_results=sum(r.total == 0 for r in ranked) / len(ranked),
        missed=tuple(r.query.q for r in ranked if r.total == 0 and r.query.answerable),
    )
