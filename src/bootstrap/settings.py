"""The one settings object: every knob comes from here, environment prefix STOREFRONT_."""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Signing keys that were published in this repository's history: never accepted.
PUBLISHED_JWT_SECRETS = frozenset({"dev-only-signing-key-change-me-in-production-0123456789"})
MIN_JWT_SECRET = 32


class InsecureSettings(RuntimeError):
    """A setting that would let anyone in (a missing or published signing key)."""


class Settings(BaseSettings):
    """URLs select the stack: when a service URL is unset, the embedded launcher provides it."""

    model_config = SettingsConfigDict(env_prefix="STOREFRONT_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".data")
    #: What `storefront up` starts for the broker and search: Tansu and the embedded index
    #: (`embedded`), or Apache Kafka and an OpenSearch node from Maven Central jars
    #: (`production`; `scripts/bootstrap engines` resolves them).
    engines: Literal["embedded", "production"] = "embedded"
    database_url: str | None = None
    redis_url: str | None = None
    kafka_url: str | None = None
    search_path: Path | None = None
    #: Search on Elasticsearch 8 instead of the embedded engine (production: see
    #: docker-compose.yml); the products index is reached through this alias.
    elasticsearch_url: str | None = None
    elasticsearch_index: str = "storefront-products"
    #: The stock index's alias there (one document per variant and warehouse).
    elasticsearch_stock_index: str = "storefront-stock"
    #: Which server speaks the Elasticsearch API there: Elasticsearch 8/9 (its official
    #: client) or OpenSearch 2 (opensearch-py; the official client refuses it).
    search_engine: Literal["elasticsearch", "opensearch"] = "elasticsearch"
    warehouse_path: Path | None = None

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    #: Proxies whose X-Forwarded-For the API believes (comma-separated addresses or
    #: networks, `*` for any): behind a reverse proxy, its address, so per-address limits
    #: count the client and not the proxy.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    #: Each API process serves Prometheus metrics here without a token (0: not at all;
    #: `/metrics` on the API itself needs VIEW_DASHBOARD); loopback only by default.
    api_metrics_host: str = "127.0.0.1"
    api_metrics_port: int = Field(default=9464, ge=0, le=65535)
    #: The worker serves Prometheus metrics here (0: not at all); loopback only by default.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9465, ge=0, le=65535)
    #: Where the checkout saga's own worker serves its metrics (`up` runs it beside the worker).
    saga_metrics_port: int = Field(default=9466, ge=0, le=65535)
    #: HS256 signing key of access tokens. Required by the API; `storefront up` makes a
    #: random one per data directory for the embedded stack.
    jwt_secret: SecretStr | None = None
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    #: Failed logins per window: per account and address pair, per account, per address.
    login_limit_per_account_and_address: int = Field(default=5, ge=1)
    login_limit_per_account: int = Field(default=20, ge=1)
    login_limit_per_address: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    #: The largest request body any route takes (413 beyond, counted while it streams in);
    #: the catalog import has its own, larger limit.
    max_body_bytes: int = Field(default=2**20, ge=1024)
    #: Coupon codes one cart, and one address, may try in a window (then 429).
    coupon_attempts_per_cart: int = Field(default=10, ge=1)
    coupon_attempts_per_address: int = Field(default=30, ge=1)
    coupon_attempt_window_seconds: int = Field(default=600, ge=1)
    #: How long an API process answers readiness from its last check.
    ready_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    #: Client event batches (POST /api/events) one address may send a minute.
    events_per_minute: int = Field(default=120, ge=1)
    #: The hour (UTC, 0-23) the worker runs the nightly ETL; unset: cron runs
    #: `storefront etl nightly` instead.
    etl_nightly_hour: int | None = Field(default=None, ge=0, le=23)
    #: A variant with this many units or fewer available (all warehouses) is low on stock.
    low_stock_threshold: int = Field(default=5, ge=0, le=1_000_000)
    #: Staff are pushed an alert when a SKU's available units fall below this (each SKU may
    #: have its own line: /api/admin/inventory/{sku}/low-stock-threshold).
    low_stock_alert_below: int = Field(default=10, ge=0, le=1_000_000)
    #: Pushes kept for sockets that reconnect (a Redis stream, trimmed to about this many).
    pushes_kept: int = Field(default=10_000, ge=100, le=10_000_000)
    #: How often an open socket checks that its session is still open (and its role's
    #: permissions: staff pushes stop when VIEW_DASHBOARD is taken away).
    socket_check_seconds: float = Field(default=5.0, gt=0, le=300)
    #: Pushes one reconnect replays at most (the newest ones, after `replay_incomplete`),
    #: and how often one person may open a socket a minute (then close code 4429).
    socket_replay_max: int = Field(default=1_000, ge=1, le=100_000)
    socket_connects_per_minute: int = Field(default=30, ge=1, le=10_000)
    #: How often the worker looks for new dead letters to push to staff.
    dead_letter_alert_seconds: float = Field(default=5.0, gt=0, le=3600)
    #: How emails name the shop, and the storefront they link to (password reset links go
    #: to `<shop_url>/reset-password?token=...`).
    shop_name: str = Field(default="Storefront", min_length=1, max_length=100)
    shop_url: str = "http://127.0.0.1:3000"
    #: The mail server emails go through; unset: they wait in the queue (`storefront up`
    #: starts a local catcher and sets these).
    smtp_host: str | None = None
    smtp_port: int = Field(default=1025, ge=0, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    mail_from: str = "Storefront <shop@storefront.localhost>"
    #: How often the worker sends the emails due; a failed send waits `email_retry_seconds`,
    #: then twice as long each time, and after `email_attempts` it is dead-lettered.
    mail_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    email_attempts: int = Field(default=6, ge=1, le=50)
    email_retry_seconds: float = Field(default=2.0, gt=0, le=3600)
    #: How long a password reset link works.
    password_reset_minutes: int = Field(default=30, ge=1, le=1440)
    #: How often each API process writes the searches it answered (one search.answered
    #: event a flush), and how many searches of one address (IPv6: its /64) a minute each
    #: process records for analytics (all are answered).
    search_log_seconds: float = Field(default=1.0, gt=0, le=60)
    search_analytics_per_minute: int = Field(default=60, ge=1, le=1_000_000)

    kafka_partitions: int = Field(default=3, ge=1)
    #: Whether `storefront worker` runs the outbox relay too; `storefront up` runs the relay
    #: as a process of its own, so that it and the worker each have a core.
    worker_runs_relay: bool = True
    #: The consumers this worker runs (empty: all of them). A consumer runs in one worker
    #: process: its index or warehouse has one writer.
    worker_consumers: list[str] = Field(default_factory=list)
    relay_poll_seconds: float = Field(default=0.05, gt=0)
    relay_batch_size: int = Field(default=2000, ge=1)
    broker_guard_seconds: float = Field(default=0.25, gt=0)
    stream_batch_size: int = Field(default=500, ge=1)
    stream_batch_seconds: float = Field(default=0.05, gt=0)
    #: How long a worker's fetch waits on an empty topic. Tansu answers one only after about
    #: half of it, and a message arriving meanwhile waits for that answer: at 40 ms rather
    #: than 100 a hop is ~15 ms shorter (bench/realtime, bench/freshness), for ~4% of a
    #: core more while the stack is idle (more empty fetches).
    consumer_fetch_max_wait_ms: int = Field(default=40, ge=1)
    #: Kafka consumer-group session timeout: a restarted worker rejoins in about half of it,
    #: and a worker that cannot heartbeat for this long is taken out of the group.
    stream_session_timeout_seconds: float = Field(default=2.0, ge=1.0, le=60.0)

    #: Redis connections per process; more concurrent commands wait for one.
    redis_max_connections: int = Field(default=200, ge=1)

    #: Search results kept per API process, keyed by query and index generation.
    search_cache_entries: int = Field(default=4096, ge=0)
    #: Synonyms in Solr's format (`tv, television`; `sneakers => trainers`); None: the ones
    #: shipped in search/synonyms.txt. Merchandisers add more at /api/admin/search/synonyms.
    search_synonyms_file: Path | None = None
    #: How stale an API process's synonyms and rules may be before it reads them again.
    search_tuning_seconds: float = Field(default=0.5, gt=0, le=60)
    cache_list_ttl_seconds: int = 300
    cache_item_ttl_seconds: int = 900

    demo_products: int = Field(default=20_000, ge=0)

    #: The daily reference-rate feed (`storefront rates refresh`); the shipped snapshot
    #: serves until it is first fetched. Rates older than `rates_max_age_days` are reported
    #: by the readiness check.
    rates_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    rates_cache_seconds: int = Field(default=3600, ge=1)
    rates_max_age_days: int = Field(default=3, ge=1)
    #: A fetched table in which any rate moved by more than this factor (either way) since
    #: the newest kept day is refused, and that day's rates stay in use.
    rates_max_daily_move: float = Field(default=1.25, gt=1, le=100)
    #: The card provider's API; `storefront up` starts its sandbox and sets this.
    payments_url: str | None = None
    payments_api_key: SecretStr = SecretStr("sk_test_storefront")
    payments_sandbox_port: int = Field(default=8010, ge=0, le=65535)
    #: An unpaid order's stock is held this long, then released (the order EXPIRES); an order
    #: placed without a payment method, for the shorter time.
    reservation_minutes: float = Field(default=15, gt=0)
    #: New checkouts are refused (503 + Retry-After) while the checkout saga (charge, confirm)
    #: is this many seconds behind, so a peak slows shoppers down for a moment instead of
    #: queueing orders for minutes; 0 never refuses.
    checkout_pause_after_seconds: float = Field(default=2.0, ge=0)
    unpaid_reservation_minutes: float = Field(default=5, gt=0)
    #: Orders placed without a payment method that may hold stock unpaid at once, per
    #: customer (409 past it) and per address (an IPv6 /64; 429 past it).
    unpaid_orders_per_customer: int = Field(default=3, ge=1)
    unpaid_orders_per_address: int = Field(default=10, ge=1)
    #: How often the worker looks for expired reservations.
    expiry_interval_seconds: float = Field(default=5.0, gt=0)

    @property
    def payments_endpoint(self) -> str:
        """The provider's API: the configured one, else the sandbox `storefront up` starts."""
        return self.payments_url or f"http://127.0.0.1:{self.payments_sandbox_port}"

    @cached_property
    def synonyms_file(self) -> Path:
        return self.search_synonyms_file or Path(str(resources.files("search") / "synonyms.txt"))

    @cached_property
    def search_dir(self) -> Path:
        return self.search_path or self.data_dir / "search"

    @cached_property
    def stock_index_dir(self) -> Path:
        return self.data_dir / "stock-index"

    @cached_property
    def warehouse_dir(self) -> Path:
        return self.warehouse_path or self.data_dir / "warehouse"

    def signing_key(self) -> str:
        """The JWT signing key; refuses a missing, short or published one."""
        key = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if not key:
            raise InsecureSettings(
                "STOREFRONT_JWT_SECRET is not set: the API will not sign tokens without a key. "
                "Set it to a long random value (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`); `storefront up` makes one for you."
            )
        if key in PUBLISHED_JWT_SECRETS:
            raise InsecureSettings(
                "STOREFRONT_JWT_SECRET is a key published in this project's source: anyone "
                "could forge tokens with it. Set a long random value."
            )
        if len(key) < MIN_JWT_SECRET:
            raise InsecureSettings(f"STOREFRONT_JWT_SECRET needs at least {MIN_JWT_SECRET} chars.")
        return key

    def require(self, name: str) -> str:
        """A service URL that must be set by now (by the environment or the launcher)."""
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"STOREFRONT_{name.upper()} is not set and no embedded stack runs")
        return str(value)


#: Settings that lift every login limit: for fuzzing and benchmarks, never for a shop.
UNLIMITED_LOGINS = {
    "login_limit_per_account_and_address": 10**6,
    "login_limit_per_account": 10**6,
    "login_limit_per_address": 10**6,
}
