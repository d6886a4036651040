"""The search backends under contract: tantivy always, Elasticsearch when a server is named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from search.backend import SearchBackend
from search.tantivy_backend import TantivyBackend


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[SearchBackend]:
    writer = TantivyBackend(tmp_path, writer=True)
    yield writer
    await writer.close()
