"""The Elasticsearch API through the client its server takes: the official `elasticsearch`
client for Elasticsearch 8/9, `opensearch-py` for OpenSearch 2.x (the official client refuses
to talk to OpenSearch by design, with a product check).

Every difference between the two lives here. The request bodies are the same; what differs
is how the clients take them (keyword arguments or one `body`), what they answer (an
`ObjectApiResponse` or a dict) and the names of their errors.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol, cast

Engine = Literal["elasticsearch", "opensearch"]


class IndexMissing(LookupError):
    """The index or alias asked for does not exist."""


class EngineUnavailable(ConnectionError):
    """The engine cannot answer now (down, restarting, overloaded): worth asking again."""


#: Statuses an engine answers while it cannot serve (starting, shards not yet allocated,
#: rejecting for load).
BUSY = frozenset({429, 502, 503, 504})


@contextlib.contextmanager
def answering(connection_errors: tuple[type[Exception], ...]) -> Iterator[None]:
    """Raise EngineUnavailable for what says the engine is away rather than the request bad."""
    try:
        yield
    except connection_errors as away:
        raise EngineUnavailable(str(away)) from away
    except Exception as error:
        status = getattr(error, "status_code", None) or getattr(
            getattr(error, "meta", None), "status", None
        )
        if status in BUSY:
            raise EngineUnavailable(str(error)) from error
        raise


#: Bulk writes refresh the shards they touched before they return (`refresh=true`): with
#: `wait_for` a write waited for the next scheduled refresh, and a change took 1.0-1.1 s to
#: be searchable (bench/freshness); the worker writes in batches, so a refresh per batch.
class EngineClient(Protocol):
    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]: ...

    async def msearch(self, searches: Sequence[dict[str, Any]]) -> dict[str, Any]: ...

    async def count(self, index: str) -> int: ...

    async def alias_targets(self, alias: str) -> list[str]: ...

    async def alias_exists(self, alias: str) -> bool: ...

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

    async def create_index(self, name: str, body: dict[str, Any]) -> None: ...

    async def delete_index(self, name: str) -> None: ...

    async def bulk(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class ElasticsearchClient:
    """Elasticsearch 8/9 through the official async client."""

    def __init__(self, url: str) -> None:
        from elastic_transport import ConnectionError, ConnectionTimeout
        from elasticsearch import AsyncElasticsearch, NotFoundError

        self.client = AsyncElasticsearch(url)
        self.not_found: type[Exception] = NotFoundError
        self.away: tuple[type[Exception], ...] = (ConnectionError, ConnectionTimeout)

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        with answering(self.away):
            try:
                return dict((await self.client.search(index=index, **body)).body)
            except self.not_found as missing:
                raise IndexMissing(index) from missing

    async def msearch(self, searches: Sequence[dict[str, Any]]) -> dict[str, Any]:
        with answering(self.away):
            return dict((await self.client.msearch(searches=list(searches))).body)

    async def count(self, index: str) -> int:
        with answering(self.away):
            try:
                return int((await self.client.count(index=index)).body["count"])
            except self.not_found as missing:
                raise IndexMissing(index) from missing

    async def alias_targets(self, alias: str) -> list[str]:
        with answering(self.away):
            try:
                return list((await self.client.indices.get_alias(name=alias)).body)
            except self.not_found:
                return []

    async def alias_exists(self, alias: str) -> bool:
        with answering(self.away):
            return bool(await self.client.indices.exists_alias(name=alias))

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        with answering(self.away):
            await self.client.indices.update_aliases(actions=actions)

    async def create_index(self, name: str, body: dict[str, Any]) -> None:
        with answering(self.away):
            await self.client.indices.create(index=name, **body)

    async def delete_index(self, name: str) -> None:
        with answering(self.away):
            await self.client.indices.delete(index=name)

    async def bulk(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from elasticsearch.helpers import async_bulk

        with answering(self.away):
            _, errors = await async_bulk(
                self.client, actions, refresh=True, raise_on_error=False, stats_only=False
            )
            return cast(list[dict[str, Any]], errors)

    async def close(self) -> None:
        await self.client.close()


class OpenSearchClient:
    """OpenSearch 2.x through opensearch-py's async client."""

    def __init__(self, url: str) -> None:
        from opensearchpy import AsyncOpenSearch, ConnectionError, NotFoundError

        self.client = AsyncOpenSearch(url)
        self.not_found: type[Exception] = NotFoundError
        self.away: tuple[type[Exception], ...] = (ConnectionError,)

    async def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        with answering(self.away):
            try:
                return cast(dict[str, Any], await self.client.search(index=index, body=body))
            except self.not_found as missing:
                raise IndexMissing(index) from missing

    async def msearch(self, searches: Sequence[dict[str, Any]]) -> dict[str, Any]:
        with answering(self.away):
            return cast(dict[str, Any], await self.client.msearch(body=list(searches)))

    async def count(self, index: str) -> int:
        with answering(self.away):
            try:
                return int((await self.client.count(index=index))["count"])
            except self.not_found as missing:
                raise IndexMissing(index) from missing

    async def alias_targets(self, alias: str) -> list[str]:
        with answering(self.away):
            try:
                return list(await self.client.indices.get_alias(name=alias))
            except self.not_found:
                return []

    async def alias_exists(self, alias: str) -> bool:
        with answering(self.away):
            return bool(await self.client.indices.exists_alias(name=alias))

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        with answering(self.away):
            await self.client.indices.update_aliases(body={"actions": actions})

    async def create_index(self, name: str, body: dict[str, Any]) -> None:
        with answering(self.away):
            await self.client.indices.create(index=name, body=body)

    async def delete_index(self, name: str) -> None:
        with answering(self.away):
            await self.client.indices.delete(index=name)

    async def bulk(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from opensearchpy.helpers import async_bulk

        with answering(self.away):
            _, errors = await async_bulk(
                self.client, actions, refresh=True, raise_on_error=False, stats_only=False
            )
            return cast(list[dict[str, Any]], errors)

    async def close(self) -> None:
        await self.client.close()


async def new_index(
    client: EngineClient, alias: str, definition: dict[str, Any], *, behind_alias: bool
) -> str:
    """A new, empty index named after `alias` (behind it as its write index, or not yet)."""
    name = f"{alias}-{uuid.uuid4().hex[:8]}"
    aliases = {"aliases": {alias: {"is_write_index": True}}} if behind_alias else {}
    await client.create_index(name, {**definition, **aliases})
    return name


async def ensure_alias(client: EngineClient, alias: str, definition: dict[str, Any]) -> bool:
    """Create the first index behind `alias` unless the alias exists; True if created."""
    if await client.alias_exists(alias):
        return False
    await new_index(client, alias, definition, behind_alias=True)
    return True


async def write_all(client: EngineClient, actions: list[dict[str, Any]]) -> None:
    """One bulk request; raise if the engine refused any write but a delete of a document
    it does not have (what a delete wanted anyway)."""
    if not actions:
        return
    failed = [e for e in await client.bulk(actions) if e.get("delete", {}).get("status") != 404]
    if failed:
        raise RuntimeError(f"The search engine refused {len(failed)} writes: {failed[:3]}")


async def documents_in(client: EngineClient, alias: str) -> int:
    """How many documents a search of `alias` sees now (0 before its index exists)."""
    try:
        return await client.count(alias)
    except IndexMissing:
        return 0


def engine_client(url: str, engine: Engine) -> EngineClient:
    """The client for `engine` at `url`."""
    return OpenSearchClient(url) if engine == "opensearch" else ElasticsearchClient(url)
