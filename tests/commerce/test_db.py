"""Pooled connections: one idle long enough is checked before it is handed out, so a
connection the database dropped meanwhile (a restart) is replaced, not failed on; one lent
for autocommit statements goes back to the pool transactional."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bootstrap.settings import Settings
from commerce import db

BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(settings.require("database_url"), pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def pooled_backend_dropped(engine: AsyncEngine) -> int:
    """The pid of the one pooled connection, after the server ended it behind the pool."""
    async with engine.connect() as connection:
        pid = int((await connection.execute(BACKEND)).scalar_one())
    url = db.libpq_url(engine.url.render_as_string(hide_password=False))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
        await other.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pid


async def test_a_connection_idle_past_the_threshold_is_checked_and_replaced(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = await pooled_backend_dropped(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)

    async with engine.connect() as connection:
        pid = int((await connection.execute(BACKEND)).scalar_one())

    assert pid != dropped


async def test_a_connection_used_moments_ago_is_handed_out_unchecked(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped = await pooled_backend_dropped(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)

    # No round trip before use: the dead connection fails the statement (and the pool is
    # refreshed by that failure, as without any check).
    with pytest.raises(DBAPIError):
        async with engine.connect() as connection:
            await connection.execute(BACKEND)
    async with engine.connect() as connection:
        assert int((await connection.execute(BACKEND)).scalar_one()) != dropped


async def test_a_connection_lent_for_autocommit_goes_back_transactional(
    engine: AsyncEngine,
) -> None:
    sessions = db.session_factory(engine)  # one pooled connection: the same one each time
    async with db.autocommit(sessions) as session:
        await session.execute(text("SELECT 1"))
    async with db.autocommit(sessions) as session:
        await session.execute(text("CREATE TEMP TABLE IF NOT EXISTS probe (n int)"))

    with pytest.raises(RuntimeError):
        async with db.transaction(sessions) as session:
            await session.execute(text("INSERT INTO probe VALUES (1)"))
            raise RuntimeError("rolled back")

    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM probe"))).scalar_one() == 0
