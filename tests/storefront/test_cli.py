"""`storefront users create-admin` makes the first SUPER_ADMIN, under the password policy."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from typer.testing import CliRunner, Result

from storefront.cli import app
from storefront.settings import Settings
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
