"""The composition root: the only place that knows which stack runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any

import faust
import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from analytics.live import LiveCounters
from analytics.warehouse import ParquetWarehouse
from bootstrap.settings import Settings
from commerce.catalog.cache import CatalogCache
from commerce.db import connected, create_engine, libpq_url, session_factory
from commerce.events import PUBLISHED_TOPICS
from commerce.identity.context import IdentityContext
from commerce.identity.store import IdentityCache, LoginLimiter, LoginLimits, SessionStore
from commerce.identity.tokens import TokenIssuer
from commerce.notifications.channel import PushChannel
from commerce.notifications.deliveries import RetryPolicy
from commerce.notifications.mailer import SmtpMailer
from commerce.notifications.service import Shop
from commerce.payments.provider import PaymentProvider
from etl.backfill import Backfilled, backfill, index_catalog, index_stock
from etl.reindex import Reindexed, products_to_index, reindex
from etl.schedule import nightly_at
from search.backend import SearchBackend
from search.elasticsearch_backend import ElasticsearchBackend
from search.result_cache import SearchResultCache
from search.stock import StockIndex
from search.stock_engines import EngineStockIndex, TantivyStockIndex, stock_schema
from search.tantivy_backend import TantivyBackend
from search.tantivy_storage import schema_matches, set_aside
from search.tuning import TuningSource
from streams import handlers
from streams.app import Job, StreamSettings, create_app
from streams.consumers import Consumer
from streams.dead_letters import dead_letter_alerts
from streams.mail import email_sender
from streams.projections import (
    CATALOG_CACHE,
    LIVE,
    PERMISSIONS,
    PUSH,
    SEARCH,
    STOCK,
    WAREHOUSE,
    cache_invalidation,
    live_counters,
    pushes,
    role_permission_cache,
    search_projection,
    stock_projection,
    warehouse_writer,
)
from streams.relay import OutboxRelay
from streams.steps import (
    NOTIFY,
    ORDERS,
    PAYMENTS,
    REWARDS,
    notifications,
    reservation_expiry,
    rewards,
    saga,
)


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


def redis_client(settings: Settings) -> Redis:
    """A client whose requests wait for a free connection when all are busy: redis-py's
    default pool refuses the 101st concurrent command with an error (a 500 under a burst)."""
    pool = BlockingConnectionPool.from_url(
        settings.require("redis_url"), max_connections=settings.redis_max_connections, timeout=20
    )
    return Redis(connection_pool=pool)


def payment_provider(settings: Settings) -> PaymentProvider:
    http = httpx.AsyncClient(
        base_url=settings.payments_endpoint,
        headers={"Authorization": f"Bearer {settings.payments_api_key.get_secret_value()}"},
        timeout=httpx.Timeout(10.0, connect=2.0),
    )
    return PaymentProvider(http)


def catalog_cache(settings: Settings, redis: Redis) -> CatalogCache:
    return CatalogCache(
        redis, list_ttl=settings.cache_list_ttl_seconds, item_ttl=settings.cache_item_ttl_seconds
    )


@dataclass
class Adapters:
    """Every client a process holds, built from settings alone; `aclose` releases them all."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    search: SearchBackend
    stock: StockIndex

    @cached_property
    def tuning(self) -> TuningSource:
        return TuningSource(
            self.sessions,
            self.settings.synonyms_file,
            max_age=self.settings.search_tuning_seconds,
        )

    @cached_property
    def search_results(self) -> SearchResultCache:
        return SearchResultCache(self.search, self.tuning, size=self.settings.search_cache_entries)

    @cached_property
    def catalog_cache(self) -> CatalogCache:
        return catalog_cache(self.settings, self.redis)

    @cached_property
    def payments(self) -> PaymentProvider:
        return payment_provider(self.settings)

    async def aclose(self) -> None:
        if "payments" in self.__dict__:
            await self.payments.http.aclose()
        await self.search.close()
        await self.stock.close()
        await self.redis.aclose()
        await self.engine.dispose()


def adapters(
    settings: Settings, *, search_writer: bool = False, stock_writer: bool = False
) -> Adapters:
    """The adapters of the stack the settings name: the API reads search, the worker writes."""
    engine = create_engine(settings.require("database_url"))
    return Adapters(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        redis=redis_client(settings),
        search=search_backend(settings, writer=search_writer),
        stock=stock_index(settings, writer=stock_writer),
    )


def stock_index(settings: Settings, *, writer: bool = False) -> StockIndex:
    """The stock index beside the products index, on the same engine."""
    if settings.elasticsearch_url:
        return EngineStockIndex(
            settings.elasticsearch_url, settings.elasticsearch_stock_index, settings.search_engine
        )
    return TantivyStockIndex(settings.stock_index_dir, writer=writer)


def set_aside_outdated_stock_index(settings: Settings) -> bool:
    """An embedded stock index an older release wrote with another schema cannot be opened,
    and every process opens it with its adapters: it is set aside before any are built (and
    refilled by `fill_empty_stock_index`). True if it was; never by a worker that does not
    keep it."""
    folder = settings.stock_index_dir
    keeps = not settings.worker_consumers or STOCK in settings.worker_consumers
    if not keeps or settings.elasticsearch_url or schema_matches(folder, stock_schema()):
        return False
    set_aside(folder)
    return True


async def fill_empty_stock_index(settings: Settings) -> int | None:
    """The first start with a stock index (or after its folder was lost, or an older release
    wrote it with another schema) fills it from PostgreSQL; None when it holds documents
    already or another worker keeps it."""
    if settings.worker_consumers and STOCK not in settings.worker_consumers:
        return None
    set_aside_outdated_stock_index(settings)
    parts = adapters(settings, stock_writer=True)
    try:
        await parts.stock.ensure_index()
        if await parts.stock.document_count() > 0:
            return None
        return await index_stock(parts.sessions, parts.stock, settings.low_stock_alert_below)
    finally:
        await parts.aclose()


def search_backend(settings: Settings, *, writer: bool = False) -> SearchBackend:
    """Elasticsearch when a URL is set (production), else the embedded index in the data
    folder; only the worker writes."""
    if settings.elasticsearch_url:
        return ElasticsearchBackend(
            settings.elasticsearch_url, settings.elasticsearch_index, settings.search_engine
        )
    return TantivyBackend(settings.search_dir, writer=writer)


@dataclass
class WorkerParts:
    adapters: Adapters
    warehouse: ParquetWarehouse
    consumers: list[Consumer]
    relay: OutboxRelay | None
    #: (seconds between runs, job): the reservation expiry (with the order saga), dead-letter
    #: alerts (with pushes), the mail sender (with notify) and the nightly ETL (with the
    #: warehouse).
    jobs: list[tuple[float, Job]]

    async def aclose(self) -> None:
        if self.relay is not None:
            await self.relay.close()
        await self.adapters.aclose()


def worker_parts(settings: Settings) -> WorkerParts:
    chosen = set(settings.worker_consumers or handlers.consumer_names())
    # One writer per embedded index and warehouse: only the worker that projects them opens them.
    parts = adapters(settings, search_writer=SEARCH in chosen, stock_writer=STOCK in chosen)
    sessions = parts.sessions
    warehouse = ParquetWarehouse(settings.warehouse_dir)
    push_channel = PushChannel(parts.redis, settings.pushes_kept)
    consumers = handlers.bind(
        {
            SEARCH: search_projection(sessions, parts.search),
            STOCK: stock_projection(sessions, parts.stock, settings.low_stock_alert_below),
            WAREHOUSE: warehouse_writer(warehouse, sessions),
            CATALOG_CACHE: cache_invalidation(parts.catalog_cache),
            PERMISSIONS: role_permission_cache(IdentityCache(parts.redis)),
            LIVE: live_counters(LiveCounters(parts.redis), sessions),
            PUSH: pushes(sessions, push_channel, settings.low_stock_alert_below),
            ORDERS: saga(ORDERS, handlers.steps_of(ORDERS), together=handlers.together_of(ORDERS)),
            PAYMENTS: saga(PAYMENTS, handlers.steps_of(PAYMENTS), provider=parts.payments),
            NOTIFY: notifications(Shop(settings.shop_name, settings.shop_url)),
            REWARDS: rewards(),
        },
        only=chosen,
    )
    relay = outbox_relay(settings, sessions) if settings.worker_runs_relay else None
    jobs = (
        [(settings.expiry_interval_seconds, reservation_expiry(sessions))]
        if ORDERS in chosen
        else []
    )
    if PUSH in chosen:
        jobs.append(
            (settings.dead_letter_alert_seconds, dead_letter_alerts(sessions, push_channel))
        )
    if NOTIFY in chosen and (mailer := smtp_mailer(settings)) is not None:
        jobs.append(
            (settings.mail_interval_seconds, email_sender(sessions, mailer, retries(settings)))
        )
    if settings.etl_nightly_hour is not None and WAREHOUSE in chosen:
        # Its own handle on the warehouse: it writes from a thread beside the writer's.
        nightly = nightly_at(
            settings.etl_nightly_hour,
            sessions,
            ParquetWarehouse(settings.warehouse_dir),
            handlers.consumer_names(),
        )
        jobs.append((60.0, nightly))
    return WorkerParts(parts, warehouse, consumers, relay, jobs)


def smtp_mailer(settings: Settings) -> SmtpMailer | None:
    """The mail server emails go through; None leaves them queued until one is set."""
    if settings.smtp_host is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )


def retries(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.email_attempts,
        first_wait=timedelta(seconds=settings.email_retry_seconds),
    )


def outbox_relay(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> OutboxRelay:
    """The relay, re-sending after a broker reset from the lowest checkpoint of every consumer."""
    return OutboxRelay(
        sessions,
        settings.require("kafka_url"),
        topics=PUBLISHED_TOPICS,
        partitions=settings.kafka_partitions,
        consumers=handlers.consumer_names(),
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        guard_seconds=settings.broker_guard_seconds,
        listen_url=libpq_url(settings.require("database_url")),
    )


async def run_relay(settings: Settings) -> None:
    """The relay alone, in a process of its own (see `worker_runs_relay`)."""
    async with connected(settings.require("database_url")) as sessions:
        relay = outbox_relay(settings, sessions)
        try:
            await relay.run()
        finally:
            await relay.close()


def build_worker(settings: Settings) -> faust.App:
    """The Faust app with every consumer and the outbox relay."""
    parts = worker_parts(settings)
    # Workers that run different consumers are different groups: each reads every event.
    app_id = "storefront-worker"
    if settings.worker_consumers:
        # Workers naming the same consumers share one group and split its partitions. Faust
        # names a topic after the group: Apache Kafka takes [A-Za-z0-9._-] only.
        app_id += "-" + "_".join(sorted(settings.worker_consumers))
    config = StreamSettings(
        kafka_url=settings.require("kafka_url"),
        partitions=settings.kafka_partitions,
        data_dir=settings.data_dir,
        batch_size=settings.stream_batch_size,
        batch_seconds=settings.stream_batch_seconds,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        session_timeout=settings.stream_session_timeout_seconds,
    )
    app = create_app(
        config, parts.adapters.sessions, parts.consumers, parts.relay, app_id, jobs=parts.jobs
    )

    @app.on_before_shutdown.connect
    async def close_adapters(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await parts.aclose()

    return app


async def backfill_projections(settings: Settings) -> Backfilled | None:
    """Project a fresh bulk load from PostgreSQL before the worker starts (see etl.backfill)."""
    parts = adapters(settings, search_writer=True)
    try:
        return await backfill(
            parts.sessions,
            parts.search,
            ParquetWarehouse(settings.warehouse_dir),
            handlers.consumer_names(),
        )
    finally:
        await parts.aclose()


async def renew_outdated_search(settings: Settings) -> int | None:
    """The search index made ready before the worker projects into it: created behind its
    alias on an engine's first start, or (embedded) rebuilt when an older release wrote it
    with another schema. Returns the documents indexed, None when the index was current."""
    if settings.worker_consumers and SEARCH not in settings.worker_consumers:
        return None
    # An embedded index with another schema cannot be opened: set it aside first.
    outdated = not settings.elasticsearch_url and not schema_matches(settings.search_dir)
    if outdated:
        set_aside(settings.search_dir)
    parts = adapters(settings, search_writer=True)
    try:
        if not (await parts.search.ensure_index() or outdated):
            return None
        return await index_catalog(parts.sessions, parts.search)
    finally:
        await parts.aclose()


async def reindex_search(
    settings: Settings, progress: Callable[[int, int], None] = lambda done, total: None
) -> Reindexed:
    """Rebuild the search index from PostgreSQL beside the live one and swap to it
    (`progress(done, total)` after each chunk of products)."""
    parts = adapters(settings)
    try:
        total = await products_to_index(parts.sessions)
        done = 0

        def advance(indexed: int) -> None:
            nonlocal done
            done += indexed
            progress(done, total)

        return await reindex(parts.sessions, parts.search, advance)
    finally:
        await parts.aclose()
