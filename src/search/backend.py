"""The capability every search engine offers the rest of the system."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from search.query import ProductDocument, ProductQuery, SearchResult


class SearchBackend(Protocol):
    async def search(self, query: ProductQuery) -> SearchResult:
        """Run a shopper's query: hits, total and facets over the filtered set."""
        ...

    async def apply(
        self, upserts: Sequence[ProductDocument], deletes: Sequence[uuid.UUID] = ()
    ) -> None:
        """The one way in: insert or replace `upserts`, remove `deletes` (missing ids are fine),
        visible to searches at once when this returns (one commit, one bulk request)."""
        ...

    def generation(self) -> str | None:
        """A token that changes whenever searches may see different results; None if unknown."""
        ...

    async def document_count(self) -> int:
        """How many documents a search can see now; raises when the index is unreachable."""
        ...

    async def close(self) -> None: ...
