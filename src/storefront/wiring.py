"""The composition root: the only place that knows which stack runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import faust
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from analytics.warehouse import ParquetWarehouse
from commerce.catalog.cache import CatalogCache
from commerce.db import create_engine, session_factory
from commerce.events import PUBLISHED_TOPICS
from commerce.identity.service import IdentityContext
from commerce.identity.store import IdentityCache, LoginLimiter, LoginLimits, SessionStore
from commerce.identity.tokens import TokenIssuer
from search.tantivy_backend import TantivyBackend
from storefront.settings import Settings
from streams import handlers
from streams.app import StreamSettings, create_app
from streams.consumers import Consumer
from streams.projections import (
    CATALOG_CACHE,
    PERMISSIONS,
    SEARCH,
    WAREHOUSE,
    cache_invalidation,
    role_permission_cache,
    search_projection,
    warehouse_writer,
)
from streams.relay import OutboxRelay


def identity_context(settings: Settings, redis: Redis) -> IdentityContext:
    tokens = TokenIssuer(
        settings.signing_key(),
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )
    return IdentityContext(
        tokens=tokens,
        sessions=SessionStore(redis, int(tokens.refresh_ttl.total_seconds())),
        limiter=LoginLimiter(
            redis,
            LoginLimits(
                per_account_and_address=settings.login_limit_per_account_and_address,
                per_account=settings.login_limit_per_account,
                per_address=settings.login_limit_per_address,
                window_seconds=settings.login_window_seconds,
            ),
        ),
        cache=IdentityCache(redis),
    )


def catalog_cache(settings: Settings, redis: Redis) -> CatalogCache:
    return CatalogCache(
        redis, list_ttl=settings.cache_list_ttl_seconds, item_ttl=settings.cache_item_ttl_seconds
    )


@dataclass
class WorkerParts:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    search: TantivyBackend
    warehouse: ParquetWarehouse
    consumers: list[Consumer]
    relay: OutboxRelay


def worker_parts(settings: Settings) -> WorkerParts:
    engine = create_engine(settings.require("database_url"))
    sessions = session_factory(engine)
    redis = Redis.from_url(settings.require("redis_url"))
    search = TantivyBackend(settings.search_dir, writer=True)
    warehouse = ParquetWarehouse(settings.warehouse_dir)
    consumers = handlers.bind(
        {
            SEARCH: search_projection(sessions, search),
            WAREHOUSE: warehouse_writer(warehouse),
            CATALOG_CACHE: cache_invalidation(catalog_cache(settings, redis)),
            PERMISSIONS: role_permission_cache(IdentityCache(redis)),
        }
    )
    relay = OutboxRelay(
        sessions,
        settings.require("kafka_url"),
        topics=PUBLISHED_TOPICS,
        partitions=settings.kafka_partitions,
        consumers=[c.name for c in consumers],
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        guard_seconds=settings.broker_guard_seconds,
    )
    return WorkerParts(engine, sessions, redis, search, warehouse, consumers, relay)


def build_worker(settings: Settings) -> faust.App:
    """The Faust app with every consumer and the outbox relay."""
    parts = worker_parts(settings)
    config = StreamSettings(
        kafka_url=settings.require("kafka_url"),
        partitions=settings.kafka_partitions,
        data_dir=settings.data_dir,
        batch_size=settings.stream_batch_size,
        batch_seconds=settings.stream_batch_seconds,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        session_timeout=settings.stream_session_timeout_seconds,
    )
    return create_app(config, parts.sessions, parts.consumers, parts.relay)
