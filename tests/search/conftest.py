"""The search backends under contract: tantivy always, Elasticsearch when
STOREFRONT_ELASTICSEARCH_URL names a server (each test gets an index of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from search.backend import SearchBackend
from search.elasticsearch_backend import ElasticsearchBackend
from search.tantivy_backend import TantivyBackend
from storefront.settings import Settings

ELASTICSEARCH_URL = Settings().elasticsearch_url


@pytest.fixture(
    params=[
        "tantivy",
        pytest.param(
            "elasticsearch",
            marks=pytest.mark.skipif(
                ELASTICSEARCH_URL is None, reason="STOREFRONT_ELASTICSEARCH_URL is not set"
            ),
        ),
    ]
)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchBackend]:
    if request.param == "tantivy":
        writer = TantivyBackend(tmp_path, writer=True)
        yield writer
        await writer.close()
        return
    assert ELASTICSEARCH_URL is not None
    elastic = ElasticsearchBackend(
        ELASTICSEARCH_URL, f"contract-{uuid.uuid4().hex[:12]}", Settings().search_engine
    )
    await elastic.ensure_index()
    try:
        yield elastic
    finally:
        await elastic.client.delete_index(f"{elastic.alias}-*")
        await elastic.close()


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[TantivyBackend]:
    """The embedded engine alone (its own duties, not the shared contract)."""
    writer = TantivyBackend(tmp_path, writer=True)
    yield writer
    await writer.close()
