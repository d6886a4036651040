"""The capability every search engine offers the rest of the system."""

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

    async def close(self) -> None: ...
