"""A write is committed before it is answered.

Over real HTTP (uvicorn), where a response can reach the client before the server's code
after it has run. Two deferred constraint triggers on `users` act at COMMIT, for test
addresses only: one makes the commit slow (an answer sent before it lets an immediate login
miss the new account), one makes it fail (an answer sent before it reports a lost write as
kept).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from bootstrap.settings import UNLIMITED_LOGINS, Settings
from tests.conftest import PASSWORD
from tests.served import served as served_app

pytestmark = pytest.mark.usefixtures("reference")

HOOK = """
CREATE OR REPLACE FUNCTION test_commit_hook() RETURNS trigger AS $$
BEGIN
  IF NEW.email LIKE 'commit-fails-%' THEN
    RAISE EXCEPTION 'commit refused for the test';
  END IF;
  PERFORM pg_sleep(0.2);
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""
TRIGGER = """
CREATE CONSTRAINT TRIGGER test_commit_hook AFTER INSERT ON users
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.email LIKE 'slow-commit-%' OR NEW.email LIKE 'commit-fails-%')
  EXECUTE FUNCTION test_commit_hook()
"""


@pytest.fixture
async def commit_hooks(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    async with sessions() as session, session.begin():
        await session.execute(text(HOOK))
        await session.execute(text(TRIGGER))
    yield
    async with sessions() as session, session.begin():
        await session.execute(text("DROP TRIGGER test_commit_hook ON users"))
        await session.execute(text("DROP FUNCTION test_commit_hook()"))


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[str]:
    app = create_app(settings.model_copy(update=UNLIMITED_LOGINS))
    with served_app(app, "API over HTTP") as url:
        yield url


def registration(prefix: str) -> dict[str, str]:
    email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    return {"email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Commit"}


async def register_then_login(http: httpx.AsyncClient) -> tuple[int, int]:
    body = registration("slow-commit")
    registered = await http.post("/api/auth/register", json=body)
    login = {"email": body["email"], "password": PASSWORD}
    signed_in = await http.post("/api/auth/login", json=login)
    return registered.status_code, signed_in.status_code


@pytest.mark.usefixtures("commit_hooks")
async def test_a_registration_can_sign_in_as_soon_as_it_is_answered(served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        pairs = await asyncio.gather(*(register_then_login(http) for _ in range(12)))
    assert pairs == [(201, 200)] * 12


@pytest.mark.usefixtures("commit_hooks")
async def test_a_write_whose_commit_fails_is_not_answered_as_done(
    served: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = registration("commit-fails")
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        response = await http.post("/api/auth/register", json=body)
    assert not response.is_success, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    async with sessions() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM users WHERE email = :email"), {"email": body["email"]}
        )
    assert found == 0
