"""The capability every search engine offers the rest of the system, maintenance included:
callers never ask which engine they hold."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from search.plan import EngineResult, EngineSuggestions, SearchPlan, SuggestPlan
from search.query import ProductDocument


class SearchBackend(Protocol):
    async def run(self, plan: SearchPlan) -> EngineResult:
        """Run a planned search: the page of hits, the total and (if asked) the facets."""
        ...

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        """The one way in: insert or replace `upserts`, remove `deletes` (missing ids are fine),
        visible to searches at once when this returns (one commit, one bulk request)."""
        ...

    async def suggest(self, plan: SuggestPlan) -> EngineSuggestions:
        """Products, brands and categories with a word starting with what is being typed."""
        ...

    def generation(self) -> str | None:
        """A token that changes whenever searches may see different results; None if unknown."""
        ...

    async def document_count(self) -> int:
        """How many documents a search can see now; raises when the index is unreachable."""
        ...

    async def ensure_index(self) -> bool:
        """Make the index exist; True if it was created now (empty: fill it)."""
        ...

    async def rebuild(self) -> Rebuild:
        """A new, empty index beside the live one, to fill and then swap in."""
        ...

    async def close(self) -> None: ...


class Rebuild(Protocol):
    """An index being rebuilt beside the live one: write into `target`, then `swap`."""

    @property
    def name(self) -> str:
        """What the rebuilt index is called (an index name, a generation folder)."""
        ...

    @property
    def target(self) -> SearchBackend: ...

    async def swap(self) -> None:
        """Searches see the rebuilt index from now on, in one step; the old one goes."""
        ...

    async def close(self) -> None: ...
