"""`storefront search reindex` with the worker running, on the embedded engine (a new
generation) or the Elasticsearch API (a new index, then one alias update): searches answer
throughout, changes made meanwhile are caught up, and the worker writes the new index
afterwards."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bootstrap.settings import Settings
from bootstrap.wiring import reindex_search
from search.elasticsearch_backend import ElasticsearchBackend
from search.tantivy_storage import active_folder
from tests.conftest import eventually
from tests.factories import create_product, search, word

pytestmark = pytest.mark.usefixtures("reference", "worker")


async def current_index(settings: Settings) -> str:
    """The index searches use: the tantivy generation, or the index behind the alias."""
    if not settings.elasticsearch_url:
        return active_folder(settings.search_dir).name
    engine = ElasticsearchBackend(
        settings.elasticsearch_url, settings.elasticsearch_index, settings.search_engine
    )
    try:
        (target,) = await engine.client.alias_targets(engine.alias)
        return target
    finally:
        await engine.close()


async def test_reindex_swaps_while_searches_answer_and_the_worker_follows(
    client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    brand = f"Brand {word('b')}"
    made = [await create_product(client, admin, brand=brand) for _ in range(5)]
    await eventually(lambda: search(client, brand=brand), lambda r: r["total"] == 5)
    before = await current_index(settings)

    answers: list[int] = []
    reindexing = True

    async def keep_searching() -> None:
        while reindexing:
            answers.append((await search(client, brand=brand))["total"])
            await asyncio.sleep(0)

    searching = asyncio.create_task(keep_searching())
    progress: list[tuple[int, int]] = []
    # A change while the copy runs: renamed through the API, so the worker writes it to the
    # old generation and the reindex must catch it up.
    renamed = f"{word()} Renamed"
    changing = asyncio.create_task(
        client.patch(f"/api/admin/products/{made[0]['id']}", json={"name": renamed}, headers=admin)
    )
    done = await reindex_search(settings, lambda n, total: progress.append((n, total)))
    assert (await changing).status_code == 200
    reindexing = False
    await searching

    now = await current_index(settings)
    assert now != before and done.index == now
    assert done.documents >= 5 and progress[-1][0] == progress[-1][1]
    assert answers and set(answers) == {5}, "every search during the reindex found all five"
    await eventually(lambda: search(client, q=renamed), lambda r: r["total"] == 1)

    # The worker moved to the new generation: a new product is searchable there.
    later = await create_product(client, admin, brand=brand)
    found = await eventually(lambda: search(client, brand=brand), lambda r: r["total"] == 6)
    assert later["id"] in {hit["id"] for hit in found["items"]}
