"""Request-scoped dependencies: the unit of work and the shared clients.

All `async def`, even those that only read `app.state`: FastAPI runs a plain `def`
dependency in its thread pool, a hop that cost more than the cached pages it served.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response
from pydantic import WithJsonSchema
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.carts.store import Owner, guest_key
from commerce.catalog.cache import CatalogCache
from commerce.currency import service as rates
from commerce.currency.errors import UnsupportedCurrency
from commerce.currency.money import BASE_CURRENCY, SUPPORTED
from commerce.currency.pricing import Pricing
from commerce.currency.rates import RateTable
from commerce.identity.context import IdentityContext
from commerce.notifications.service import Shop
from commerce.payments.provider import PaymentProvider
from search.backend import SearchBackend
from search.prices import PriceScale
from search.result_cache import SearchResultCache
from search.stock import StockIndex


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back if it raises.

    Used with `scope="function"` (see `Session`): FastAPI exits a request-scoped yield
    dependency only after the response went out, so a client could read 201 for a write
    whose COMMIT then failed, and read-your-write right after was a race.
    """
    async with request.app.state.sessions() as session, session.begin():
        yield session


async def search_backend(request: Request) -> SearchBackend:
    backend: SearchBackend = request.app.state.search
    return backend


async def stock_index(request: Request) -> StockIndex:
    index: StockIndex = request.app.state.stock_index
    return index


async def search_results(request: Request) -> SearchResultCache:
    cache: SearchResultCache = request.app.state.search_results
    return cache


async def catalog_cache(request: Request) -> CatalogCache:
    cache: CatalogCache = request.app.state.cache
    return cache


async def identity_context(request: Request) -> IdentityContext:
    context: IdentityContext = request.app.state.identity
    return context


async def client_address(request: Request) -> str:
    """Whom per-address limits count: the caller's IPv4 address, or its IPv6 /64 (one
    household or server is given a /64 and rotates through it freely).

    Behind a reverse proxy this is the proxy's address unless uvicorn trusts it to say
    whose request it is: set FORWARDED_ALLOW_IPS to the proxy's address (README).
    """
    return address_bucket(request.client.host if request.client else "unknown")


def any_case(code: str) -> str:
    """`usd` -> `[Uu][Ss][Dd]`: JSON Schema patterns have no case-insensitive flag."""
    return "".join(f"[{c.upper()}{c.lower()}]" for c in code)


def address_bucket(host: str) -> str:
    try:
        address = ip_address(host)
    except ValueError:
        return host  # a unix socket or a test client: one bucket each
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)


async def redis_client(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def session_factory(request: Request) -> async_sessionmaker[AsyncSession]:
    """For reads that may not need the database at all (a cache hit opens no session)."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


#: An optional header holding a UUID: documented as the UUID it must be (absent is fine).
UUID_HEADER = WithJsonSchema({"type": "string", "format": "uuid"})

#: One of the supported codes in any case (`eur` is EUR), as OpenAPI can say it.
CURRENCY_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        # Empty is as good as absent: US dollars.
        "pattern": "^(" + "|".join(any_case(code) for code in SUPPORTED) + ")?$",
        "description": f"One of {', '.join(SUPPORTED)}, in any case (default USD).",
    }
)


async def chosen_currency(
    currency: Annotated[
        str | None,
        Query(description="Show prices in this currency.", max_length=16),
        CURRENCY_SCHEMA,
    ] = None,
    accept_currency: Annotated[str | None, Header(max_length=16), CURRENCY_SCHEMA] = None,
) -> str:
    """`currency=`, else the Accept-Currency header, else US dollars; 422 naming the supported
    when either names another (a header the query overrides is still checked)."""
    for given in (currency, accept_currency):
        if given and given.upper() not in SUPPORTED:
            raise UnsupportedCurrency(given.upper())
    return (currency or accept_currency or BASE_CURRENCY).upper()


async def rate_table(request: Request) -> RateTable:
    state = request.app.state
    return await rates.current_rates(
        state.sessions, state.redis, ttl=state.settings.rates_cache_seconds
    )


async def pricing(request: Request, currency: Annotated[str, Depends(chosen_currency)]) -> Pricing:
    return Pricing(await rate_table(request), currency)


async def price_scale(
    request: Request, currency: Annotated[str, Depends(chosen_currency)]
) -> PriceScale:
    """Search's prices: US dollars as indexed (no rate needed), else converted at today's rate."""
    if currency == BASE_CURRENCY:
        return PriceScale()
    return PriceScale.of(Pricing(await rate_table(request), currency))


async def cart_owner(
    request: Request,
    response: Response,
    x_cart_id: Annotated[
        uuid.UUID | None, Header(description="A guest cart's id"), UUID_HEADER
    ] = None,
) -> Owner:
    """The signed-in shopper, else the guest cart named by X-Cart-Id (a new one if none);
    a guest's cart id is returned in the X-Cart-Id header."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return uuid.UUID(str(principal.user_id))
    cart_id = x_cart_id or uuid.uuid4()
    response.headers["X-Cart-Id"] = str(cart_id)
    return guest_key(cart_id)


async def payment_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.payments
    return provider


async def shop(request: Request) -> Shop:
    settings = request.app.state.settings
    return Shop(name=settings.shop_name, url=settings.shop_url)


Session = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
ShopInfo = Annotated[Shop, Depends(shop)]
Currency = Annotated[str, Depends(chosen_currency)]
Rates = Annotated[RateTable, Depends(rate_table)]
Prices = Annotated[Pricing, Depends(pricing)]
Payments = Annotated[PaymentProvider, Depends(payment_provider)]
CartOwner = Annotated[Owner, Depends(cart_owner)]
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(session_factory)]
Identity = Annotated[IdentityContext, Depends(identity_context)]
ClientAddress = Annotated[str, Depends(client_address)]
Search = Annotated[SearchBackend, Depends(search_backend)]
Stock = Annotated[StockIndex, Depends(stock_index)]
SearchPrices = Annotated[PriceScale, Depends(price_scale)]
SearchResults = Annotated[SearchResultCache, Depends(search_results)]
Cache = Annotated[CatalogCache, Depends(catalog_cache)]
RedisClient = Annotated[Redis, Depends(redis_client)]
