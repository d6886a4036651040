"""Engine, session factory and the declarative base shared by every domain."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy import ColumnElement, MetaData, any_, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeEngine

from commerce.errors import DomainError

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: A pooled connection unused this long is checked (SELECT 1) before it is handed out: a
#: database restarted meanwhile left every pooled connection dead. One used moments ago is
#: not checked: `pool_pre_ping` cost a round trip before every transaction of every process
#: (a twentieth of the relay's CPU, bench/checkout), and under load no connection idles.
PING_AFTER_IDLE_SECONDS = 1.0


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine on psycopg 3 for a `postgresql+psycopg://` URL; JSON columns (the
    outbox's events above all) are written and read with orjson, several times faster than
    the standard library on the API's and the worker's hot paths."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


def _note_idle(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, ConnectionPoolEntry, Any], None]:
    def ping(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or used moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and hands out another (a new one if need be).
            raise DisconnectionError(f"a pooled connection is gone: {error!r}") from error

    return ping


_IDLE_SINCE = "storefront_idle_since"


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no driver name): for DuckDB's scanner and for
    a plain psycopg connection (the relay's LISTEN)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def connected(
    url: str, *, pool_size: int = 10
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the database at `url` for as long as the block runs (a command's, a job's);
    the pool is closed after it."""
    engine = create_engine(url, pool_size=pool_size)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls back when it raises."""
    async with sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own: one round trip a statement,
    without the BEGIN and COMMIT a transaction adds. Only for reads, and for writes that are
    whole in one statement (under READ COMMITTED each statement sees its own snapshot in a
    transaction too)."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


async def refresh_statistics(session: AsyncSession, tables: Sequence[type[Base]]) -> None:
    """ANALYZE after a bulk write (its own uncommitted rows count).

    Until autovacuum comes by (a minute or more), the planner keeps an empty table's row
    estimates: the relay's claim then sorted every unpublished row of a 275k-event load for
    each batch of 2,000 (1.3 s a query instead of milliseconds).
    """
    names = ", ".join(table.__tablename__ for table in tables)  # ours, never user input
    await session.execute(text(f"ANALYZE {names}"))


def one_of(column: QueryableAttribute[T], values: Iterable[T]) -> ColumnElement[bool]:
    """`column = ANY(:values)`: one array parameter, where `IN` would send (and psycopg
    parse) a placeholder per value; bulk imports ask about thousands of SKUs at once."""
    return column == any_(bindparam(None, list(values), type_=_array_of(column.type)))


def any_of(column: QueryableAttribute[T], name: str) -> ColumnElement[bool]:
    """`column = ANY(:name)`, the array given when the statement runs: for statements built
    once (`functools.cache`), whose construction cost more than running them."""
    return column == any_(bindparam(name, type_=_array_of(column.type)))


@functools.cache
def _array_of(item: TypeEngine[Any]) -> ARRAY[Any]:
    return ARRAY(item)


def column_values(instance: Base) -> dict[str, Any]:
    """An unsaved ORM object's columns by name, for `copy_rows`."""
    return {column.name: getattr(instance, column.key) for column in instance.__table__.columns}


async def copy_rows(
    session: AsyncSession, table: type[Base], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Bulk-load rows with COPY in the session's transaction.

    An ORM bulk INSERT sent every row as its own statement: a 100,000-variant import spent
    most of its time there. JSONB columns take dicts and lists.
    """
    if not rows:
        return
    columns = list(rows[0])
    jsonb = {name for name in columns if isinstance(table.__table__.c[name].type, JSONB)}
    connection = await (await session.connection()).get_raw_connection()
    driver: AsyncConnection[Any] = connection.driver_connection  # type: ignore[assignment]
    statement = f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN"  # our names
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(
                [Jsonb(row[c], dumps=_json) if c in jsonb else row[c] for c in columns]
            )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def flush_unique(session: AsyncSession, conflicts: Mapping[str, DomainError]) -> None:
    """Flush; a unique violation of a constraint named in `conflicts` raises its domain error.

    Services check before they insert, for a clear message; this closes the race two
    concurrent requests leave between that check and the insert.
    """
    try:
        await session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if isinstance(constraint, str) and constraint in conflicts:
            raise conflicts[constraint] from error
        raise
