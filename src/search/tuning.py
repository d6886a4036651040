"""Synonyms and merchandising rules as search applies them, fresh within a second.

Synonyms come from a file shipped with the shop (Solr's format: `tv, television` or
`sneakers => trainers`) and from merchandisers (`/api/admin/search/synonyms`). They expand
the shopper's words at query time, so a new synonym needs no reindex. Rules pin, bury, hide
and boost products for one query or one category.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.merchandising import service
from commerce.merchandising.schemas import RuleOut, SynonymIn
from commerce.words import normalised

#: Longest synonym, in words, looked for in a query.
LONGEST_PHRASE = 4
#: A prefix this long is matched against synonyms too (shorter ones start too many words).
COMPLETED_FROM = 4


@dataclass(frozen=True)
class Synonyms:
    #: A phrase (its words) -> what else it finds, each as words.
    expansions: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, groups: Iterable[SynonymIn]) -> Synonyms:
        found: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in groups:
            phrases = [tuple(term.split()) for term in group.terms]
            sources = phrases[:1] if group.one_way else phrases
            for source in sources:
                targets = phrases[1:] if group.one_way else phrases
                listed = found.setdefault(source, [])
                listed += [t for t in targets if t != source and t not in listed]
        return cls({key: tuple(value) for key, value in found.items()})

    def expand(self, query: Sequence[str]) -> tuple[tuple[tuple[str, ...], ...], ...]:
        """Per word (or known phrase) of the query: itself, then its synonyms."""
        slots: list[tuple[tuple[str, ...], ...]] = []
        at = 0
        while at < len(query):
            for length in range(min(LONGEST_PHRASE, len(query) - at), 0, -1):
                phrase = tuple(query[at : at + length])
                if phrase in self.expansions or length == 1:
                    slots.append((phrase, *self.expansions.get(phrase, ())))
                    at += length
                    break
        return tuple(slots)

    def completing(self, prefix: str) -> tuple[tuple[str, ...], ...]:
        """What the words starting with `prefix` find besides themselves (typing `sneak`
        may be after trainers): from COMPLETED_FROM letters."""
        if len(prefix) < COMPLETED_FROM:
            return ()
        found: dict[tuple[str, ...], None] = {}
        for phrase, others in self.expansions.items():
            if len(phrase) == 1 and phrase[0].startswith(prefix) and phrase[0] != prefix:
                found.update(dict.fromkeys(o for o in others if not o[0].startswith(prefix)))
        return tuple(found)


def read_synonyms_file(path: Path) -> list[SynonymIn]:
    """Solr synonym lines: `a, b, c` (all alike) or `a => b, c` (a finds b and c)."""
    groups: list[SynonymIn] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, arrow, targets = line.partition("=>")
        terms = [*source.split(","), *targets.split(",")] if arrow else source.split(",")
        try:
            groups.append(SynonymIn(terms=[t for t in terms if t.strip()], one_way=bool(arrow)))
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from error
    return groups


@dataclass(frozen=True)
class Tuning:
    synonyms: Synonyms = field(default_factory=Synonyms)
    rules: tuple[RuleOut, ...] = ()
    #: Changes whenever the synonyms or rules do (part of the result cache's key).
    generation: str = ""

    def rules_for(self, query: str, categories: Sequence[str]) -> list[RuleOut]:
        """The rules of this query (by its words) and of the categories being browsed."""
        said = normalised(query)
        return [
            rule
            for rule in self.rules
            if (rule.query is not None and rule.query == said)
            or (rule.category is not None and rule.category in categories)
        ]


def tuning_of(
    file_groups: Sequence[SynonymIn], groups: Sequence[SynonymIn], rules: Sequence[RuleOut]
) -> Tuning:
    digest = hashlib.blake2b(digest_size=8)
    for item in [*file_groups, *groups, *rules]:
        digest.update(item.model_dump_json().encode())
    return Tuning(Synonyms.of([*file_groups, *groups]), tuple(rules), digest.hexdigest())


class Tunings(Protocol):
    async def current(self) -> Tuning: ...


@dataclass
class FixedTuning:
    """Tuning that changes only when assigned (benchmarks, tests, tools)."""

    tuning: Tuning = field(default_factory=Tuning)

    async def current(self) -> Tuning:
        return self.tuning


class TuningSource:
    """Each API process reads the tuning from PostgreSQL at most every `max_age` seconds,
    so a merchandiser's change is live everywhere within that time (no messages to lose)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        synonyms_file: Path | None = None,
        max_age: float = 0.5,
    ) -> None:
        self.sessions = sessions
        self.file_groups = read_synonyms_file(synonyms_file) if synonyms_file else []
        self.max_age = max_age
        self._tuning = tuning_of(self.file_groups, [], [])
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self) -> Tuning:
        if time.monotonic() - self._read_at < self.max_age:
            return self._tuning
        async with self._lock:
            if time.monotonic() - self._read_at >= self.max_age:
                async with self.sessions() as session:
                    groups = await service.synonyms(session)
                    rules = await service.rules(session)
                self._tuning = tuning_of(self.file_groups, groups, rules)
                self._read_at = time.monotonic()
        return self._tuning
