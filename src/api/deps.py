"""Request-scoped dependencies: the unit of work, the admin guard, the shared clients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.cache import CatalogCache
from search.backend import SearchBackend


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    async with request.app.state.sessions() as session, session.begin():
        yield session


def search_backend(request: Request) -> SearchBackend:
    backend: SearchBackend = request.app.state.search
    return backend


def catalog_cache(request: Request) -> CatalogCache:
    cache: CatalogCache = request.app.state.cache
    return cache


bearer = HTTPBearer(auto_error=False)


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """The bootstrap admin token from settings, until real identity lands."""
    expected = request.app.state.settings.admin_token.get_secret_value()
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected.encode()
    ):
        raise HTTPException(
            401, "A valid admin bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
        )


Session = Annotated[AsyncSession, Depends(unit_of_work)]
Search = Annotated[SearchBackend, Depends(search_backend)]
Cache = Annotated[CatalogCache, Depends(catalog_cache)]
