"""Session fixtures: the real embedded stack (or services named by STOREFRONT_* URLs),
migrated once; a real worker process; the API in-process over ASGI."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import migrations
from api.app import create_app
from bootstrap.settings import Settings
from bootstrap.wiring import redis_client
from commerce.db import create_engine, session_factory
from storefront.embedded import EmbeddedStack, free_port
from storefront.polling import poll_until
from storefront.processes import WorkerProcess
from tests.history_shop import Shop, open_shop
from tests.mailbox import Mailbox
from tests.mailbox import serve as serve_mail

T = TypeVar("T")
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack | None]:
    """The embedded services, unless every service URL is given in the environment."""
    external = Settings()
    if external.database_url and external.redis_url and external.kafka_url:
        yield None
        return
    production = external.engines == "production"  # Apache Kafka and an OpenSearch node
    stack = EmbeddedStack(tmp_path_factory.mktemp("services"), production=production)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def payment_sandbox() -> Iterator[str]:
    """The card provider's sandbox over real HTTP, in a thread of this process; its URL."""
    import threading

    import uvicorn

    from storefront.stand_ins.payments import create_sandbox_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_sandbox_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not poll_until(lambda: bool(server.started), timeout=30, interval=0.01):
        raise RuntimeError("the payment sandbox did not start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server in a thread of this process: its port and what it received."""
    port = free_port()
    controller, mailbox = serve_mail(port)
    yield port, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[int, Mailbox]) -> Mailbox:
    return smtp_server[1]


@pytest.fixture(scope="session")
def settings(
    stack: EmbeddedStack | None,
    payment_sandbox: str,
    smtp_server: tuple[int, Mailbox],
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    data = tmp_path_factory.mktemp("data")
    urls: dict[str, object] = dict(stack.urls) if stack else {}
    if stack is not None and stack.production:
        urls["search_engine"] = "opensearch"
    settings = Settings.model_validate(
        {
            "payments_url": payment_sandbox,
            "expiry_interval_seconds": 0.5,
            **urls,
            "data_dir": data,
            "stream_batch_seconds": 0.02,
            "worker_metrics_port": free_port(),
            "api_metrics_port": 0,  # many apps are built here; one test serves them
            # Every simulated shopper calls from 127.0.0.1: these per-address caps have tests
            # of their own (test_orders, test_search_log).
            "unpaid_orders_per_address": 10**6,
            # The checkout gate has a test of its own (test_checkout_gate): here many orders'
            # sagas run with no worker, or behind a busy one on CI's two cores.
            "checkout_pause_after_seconds": 0,
            "search_analytics_per_minute": 10**6,
            "jwt_secret": "test-signing-key-0123456789-0123456789-0123456789",
            # The session's accounts sign in once, and on a slow machine the suite outlasts
            # the default 15 minutes (expiry has its own tests, with tokens made to expire).
            "access_token_minutes": 120,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server[0],
            "mail_interval_seconds": 0.2,
            "email_attempts": 3,
            "email_retry_seconds": 0.2,
        }
    )
    migrations.upgrade(settings.require("database_url"))
    return settings


def worker_env(settings: Settings) -> dict[str, str]:
    return {
        "STOREFRONT_DATABASE_URL": settings.require("database_url"),
        "STOREFRONT_REDIS_URL": settings.require("redis_url"),
        "STOREFRONT_KAFKA_URL": settings.require("kafka_url"),
        "STOREFRONT_DATA_DIR": str(settings.data_dir),
        "STOREFRONT_STREAM_BATCH_SECONDS": str(settings.stream_batch_seconds),
        "STOREFRONT_WORKER_METRICS_PORT": str(settings.worker_metrics_port),
        "STOREFRONT_PAYMENTS_URL": settings.payments_endpoint,
        "STOREFRONT_EXPIRY_INTERVAL_SECONDS": str(settings.expiry_interval_seconds),
        **({"STOREFRONT_SMTP_HOST": settings.smtp_host} if settings.smtp_host else {}),
        "STOREFRONT_SMTP_PORT": str(settings.smtp_port),
        "STOREFRONT_MAIL_INTERVAL_SECONDS": str(settings.mail_interval_seconds),
        "STOREFRONT_EMAIL_ATTEMPTS": str(settings.email_attempts),
        "STOREFRONT_EMAIL_RETRY_SECONDS": str(settings.email_retry_seconds),
        **(
            {
                "STOREFRONT_ELASTICSEARCH_URL": settings.elasticsearch_url,
                "STOREFRONT_SEARCH_ENGINE": settings.search_engine,
            }
            if settings.elasticsearch_url
            else {}
        ),
    }


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[WorkerProcess]:
    """The real stream worker (relay + consumers) as a child process."""
    process = WorkerProcess(worker_env(settings), settings.data_dir / "worker.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.require("database_url"))
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = redis_client(settings)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, on the same services and index folder as the worker.

    It does not start the worker: tests of the pipeline ask for the `worker` fixture.
    """
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture(scope="session")
async def accounts(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], reference: None
) -> dict[str, dict[str, str]]:
    """Bearer headers of one signed-in user per system role."""
    from commerce.db import transaction
    from commerce.identity.permissions import SYSTEM_ROLES
    from commerce.identity.service import create_user

    headers = {}
    for role in SYSTEM_ROLES:
        email = f"{role.lower().replace('_', '-')}@accounts.example.com"
        async with transaction(sessions) as session:
            await create_user(session, email, PASSWORD, role=role)
        headers[role] = await sign_in(client, email)
    return headers


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def admin(accounts: dict[str, dict[str, str]]) -> dict[str, str]:
    """An ADMIN's headers: products and inventory, not roles."""
    return accounts["ADMIN"]


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.02,
) -> T:
    """Poll `probe` until `check` holds on its result; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
async def reference(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Brands, the demo category tree and warehouses (no products)."""
    from commerce.db import transaction
    from demo import catalog as demo_catalog

    async with transaction(sessions) as session:
        if not await demo_catalog.is_loaded(session):
            await demo_catalog.load_reference_data(session)


@pytest.fixture
async def fresh_database(settings: Settings) -> str:
    """The URL of a new, migrated database of its own (for tests that need an empty stack)."""
    return await new_database(settings)


async def new_database(settings: Settings) -> str:
    """Create and migrate a database on the test stack's server; its URL."""
    from storefront.embedded import PG_DATABASE

    name = f"fresh_{uuid.uuid4().hex[:10]}"
    base = settings.require("database_url")
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres")
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql(f"CREATE DATABASE {name}")
    await admin.dispose()
    url = base.replace(f"/{PG_DATABASE}", f"/{name}")
    await asyncio.to_thread(migrations.upgrade, url)
    return url


@pytest.fixture(scope="session")
async def shop(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    """Shared, so tests must not change it (the ETL's tests open one of their own)."""
    async with own_shop(settings, tmp_path_factory) as opened:
        yield opened


@asynccontextmanager
async def own_shop(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Shop]:
    """90 days of history in a database of its own, streamed into a warehouse of its own."""
    opened = await open_shop(await new_database(settings), tmp_path_factory.mktemp("warehouse"))
    try:
        yield opened
    finally:
        await opened.engine.dispose()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/search/golden from the current compiler (then read the diff)",
    )
