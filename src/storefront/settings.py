"""The one settings object: every knob comes from here, environment prefix STOREFRONT_."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-signing-key-change-me-in-production-0123456789"


class Settings(BaseSettings):
    """URLs select the stack: when a service URL is unset, the embedded launcher provides it."""

    model_config = SettingsConfigDict(env_prefix="STOREFRONT_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".data")
    database_url: str | None = None
    redis_url: str | None = None
    kafka_url: str | None = None
    search_path: Path | None = None
    warehouse_path: Path | None = None
    elasticsearch_url: str | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: HS256 signing key of access tokens; set a long random value in production.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=30, ge=1)
    login_attempts: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    kafka_partitions: int = Field(default=3, ge=1)
    relay_poll_seconds: float = Field(default=0.05, gt=0)
    relay_batch_size: int = Field(default=500, ge=1)
    broker_guard_seconds: float = Field(default=0.25, gt=0)
    stream_batch_size: int = Field(default=500, ge=1)
    stream_batch_seconds: float = Field(default=0.05, gt=0)
    consumer_fetch_max_wait_ms: int = Field(default=100, ge=1)

    cache_list_ttl_seconds: int = 300
    cache_item_ttl_seconds: int = 900

    demo_products: int = Field(default=20_000, ge=0)

    @cached_property
    def search_dir(self) -> Path:
        return self.search_path or self.data_dir / "search"

    @cached_property
    def warehouse_dir(self) -> Path:
        return self.warehouse_path or self.data_dir / "warehouse"

    @property
    def uses_dev_jwt_secret(self) -> bool:
        return self.jwt_secret.get_secret_value() == DEV_JWT_SECRET

    def require(self, name: str) -> str:
        """A service URL that must be set by now (by the environment or the launcher)."""
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"STOREFRONT_{name.upper()} is not set and no embedded stack runs")
        return str(value)
