"""The search backends under contract: tantivy always, the Elasticsearch API when
STOREFRONT_ELASTICSEARCH_URL names a server or STOREFRONT_ENGINES=production starts an
OpenSearch node (each test gets an index of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bootstrap.settings import Settings
from search.backend import SearchBackend
from search.elasticsearch_backend import ElasticsearchBackend
from search.tantivy_backend import TantivyBackend

CONFIGURED = Settings()
#: The Elasticsearch API is there to test: a server named, or the production engines started.
ENGINE_API = bool(CONFIGURED.elasticsearch_url) or CONFIGURED.engines == "production"


#: Fixture params: the embedded engine always, the Elasticsearch API's when there is one.
BOTH_ENGINES = [
    "tantivy",
    pytest.param(
        "elasticsearch",
        marks=pytest.mark.skipif(
            not ENGINE_API,
            reason="STOREFRONT_ELASTICSEARCH_URL is not set (nor STOREFRONT_ENGINES)",
        ),
    ),
]


@pytest.fixture(params=BOTH_ENGINES)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchBackend]:
    if request.param == "tantivy":
        writer = TantivyBackend(tmp_path, writer=True)
        yield writer
        await writer.close()
        return
    settings: Settings = request.getfixturevalue("settings")
    elastic = ElasticsearchBackend(
        settings.require("elasticsearch_url"),
        f"contract-{uuid.uuid4().hex[:12]}",
        settings.search_engine,
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
