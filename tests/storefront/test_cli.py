"""`storefront users create-admin` makes the first SUPER_ADMIN, under the password policy."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from api.app import create_app
from bootstrap.settings import InsecureSettings, Settings
from storefront.cli import app
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.usefixtures("reference")


async def test_create_admin(settings: Settings, client: httpx.AsyncClient) -> None:
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    env = {"STOREFRONT_DATABASE_URL": settings.require("database_url")}
    runner = CliRunner()

    def invoke(*args: str) -> Result:  # asyncio.run inside the CLI needs a thread of its own
        return runner.invoke(app, ["users", "create-admin", *args], env=env)

    weak = await asyncio.to_thread(invoke, "--email", email, "--password", "short")
    created = await asyncio.to_thread(invoke, "--email", email, "--password", PASSWORD)
    again = await asyncio.to_thread(invoke, "--email", email, "--password", PASSWORD)

    assert weak.exit_code == 1 and "at least 10" in weak.output
    assert created.exit_code == 0, created.output
    assert again.exit_code == 1 and "already exists" in again.output
    me = await client.get("/api/auth/me", headers=await sign_in(client, email))
    assert me.json()["role"] == "SUPER_ADMIN"


async def test_load_demo_creates_no_published_accounts_unless_asked(fresh_database: str) -> None:
    """`load-demo` may run against any database: the demo SUPER_ADMIN is opt-in, with a warning."""
    from sqlalchemy import select

    from commerce.db import create_engine, session_factory
    from commerce.identity.models import User
    from demo.catalog import DEMO_USERS

    url = fresh_database
    env = {"STOREFRONT_DATABASE_URL": url, "STOREFRONT_DEMO_PRODUCTS": "3"}
    runner = CliRunner()

    plain = await asyncio.to_thread(runner.invoke, app, ["load-demo"], env=env)
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        emails = {u.email for u in await session.scalars(select(User))}
    asked = await asyncio.to_thread(
        runner.invoke, app, ["load-demo", "--with-demo-accounts"], env=env
    )
    async with session_factory(engine)() as session:
        emails_after = {u.email for u in await session.scalars(select(User))}
    await engine.dispose()

    assert plain.exit_code == 0, plain.output
    assert emails == set()
    assert asked.exit_code == 0, asked.output
    assert "Warning" in asked.output and "published" in asked.output
    assert emails_after == {email for email, *_ in DEMO_USERS}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "not set"),
        ("dev-only-signing-key-change-me-in-production-0123456789", "published"),
        ("short", "at least 32"),
    ],
)
def test_the_api_refuses_to_start_without_a_real_signing_key(
    settings: Settings, key: str | None, reason: str
) -> None:
    env = {
        "STOREFRONT_DATABASE_URL": settings.require("database_url"),
        "STOREFRONT_REDIS_URL": settings.require("redis_url"),
        "STOREFRONT_JWT_SECRET": key or "",
    }
    result = CliRunner().invoke(app, ["api"], env=env)
    assert result.exit_code == 1
    assert reason in " ".join(result.output.split())
    with pytest.raises(InsecureSettings):
        create_app(settings.model_copy(update={"jwt_secret": SecretStr(key) if key else None}))
