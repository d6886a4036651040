"""The nightly ETL on a shop with a past: idempotent, resumable, never double counting, and
loud about drift between the warehouse and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import text

from analytics.schema import TABLES
from analytics.warehouse import Manifest, ParquetWarehouse, open_warehouse
from bootstrap.settings import Settings
from commerce.db import transaction
from dashboards.reports import report
from dashboards.schemas import Period, Report
from etl.nightly import LAST_RUN_MARK, RATES_MARK, run_nightly
from etl.schedule import due, nightly_at
from tests.conftest import own_shop
from tests.history_shop import FIRST, LAST, Shop, stream

CONSUMERS = ("warehouse", "search")
TODAY = date(2025, 4, 1)


@pytest.fixture(scope="module")
async def shop(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shop]:
    async with own_shop(settings, tmp_path_factory) as opened:
        async with transaction(opened.sessions) as session:
            await session.execute(
                text(
                    "INSERT INTO exchange_rates (rate_date, currency, per_usd, source) "
                    "VALUES ('2025-03-30', 'EUR', 0.92, 'test'), "
                    "('2025-03-31', 'EUR', 0.93, 'test') "
                    "ON CONFLICT DO NOTHING"
                )
            )
        yield opened


async def copy_of(shop: Shop, root: Path) -> ParquetWarehouse:
    warehouse = ParquetWarehouse(root)
    await stream(shop.sessions, warehouse)
    return warehouse


def contents(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted: what two warehouses must agree on, whatever their files."""
    with open_warehouse(root) as warehouse:
        return {
            table: sorted(warehouse.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in TABLES
        }


def monthly(root: Path) -> Report:
    with open_warehouse(root) as warehouse:
        return report(warehouse, Period.monthly, FIRST, LAST, None)


nightly = partial(run_nightly, consumers=CONSUMERS, today=TODAY)


async def test_twice_gives_the_same_warehouse_and_the_streamed_figures(
    shop: Shop, tmp_path: Path
) -> None:
    warehouse = await copy_of(shop, tmp_path)
    streamed = monthly(tmp_path)

    first = await nightly(shop.sessions, warehouse)
    after_first = contents(tmp_path)
    second = await nightly(shop.sessions, warehouse)

    assert contents(tmp_path) == after_first
    assert monthly(tmp_path) == streamed, "streamed and rebuilt never double count"
    assert first.rates_loaded >= 2 and second.rates_loaded == 0, "rates by watermark"
    assert warehouse.manifest.marks[RATES_MARK] >= "2025-03-31"
    assert first.drift == second.drift == []
    assert all(len(files) == 1 for files in warehouse.manifest.files.values())


@pytest.mark.parametrize("crash_at", ["rebuild rollups", "reconcile", "prune outbox"])
async def test_a_run_killed_mid_way_and_run_again_ends_the_same(
    shop: Shop, tmp_path: Path, crash_at: str
) -> None:
    straight = await copy_of(shop, tmp_path / "straight")
    await nightly(shop.sessions, straight)
    crashed = await copy_of(shop, tmp_path / "crashed")

    def crash(step: str) -> None:
        if step == crash_at:
            raise KeyboardInterrupt(step)

    with pytest.raises(KeyboardInterrupt):
        await nightly(shop.sessions, crashed, step=crash)
    await nightly(shop.sessions, crashed)

    assert contents(tmp_path / "crashed") == contents(tmp_path / "straight")


async def test_a_fact_deleted_by_hand_is_reported_as_drift(shop: Shop, tmp_path: Path) -> None:
    warehouse = await copy_of(shop, tmp_path)
    with open_warehouse(tmp_path) as facts:
        order_id, placed = facts.execute(
            "SELECT order_id, occurred_at FROM fact_order_events WHERE event = 'created' "
            "AND order_id IN (SELECT order_id FROM fact_order_events WHERE event = 'confirmed') "
            "ORDER BY event_seq LIMIT 1"
        ).fetchone()
    files = list(warehouse.manifest.files["fact_order_events"])
    listed = ", ".join(f"'{tmp_path / f}'" for f in files)

    def without_the_confirmation(target: Path) -> None:
        duckdb.execute(
            f"COPY (SELECT * FROM read_parquet([{listed}]) WHERE NOT (order_id = '{order_id}' "
            f"AND event = 'confirmed')) TO '{target}' (FORMAT parquet)"
        )

    assert warehouse.replace("fact_order_events", files, without_the_confirmation)

    found = await nightly(shop.sessions, warehouse)

    assert [d.day for d in found.drift] == [placed.date()]
    drift = found.drift[0]
    assert drift.warehouse[0] == drift.postgres[0] - 1
    assert drift.warehouse[1] < drift.postgres[1]


def test_the_run_is_due_once_a_day_after_its_hour() -> None:
    def at(moment: str) -> datetime:
        return datetime.fromisoformat(moment)

    assert due(None, at("2025-04-01T01:00:00+00:00"), 3)
    assert not due("2025-04-01T03:05:00+00:00", at("2025-04-01T09:00:00+00:00"), 3)
    assert not due("2025-03-31T03:05:00+00:00", at("2025-04-01T02:59:00+00:00"), 3)
    assert due("2025-03-31T03:05:00+00:00", at("2025-04-01T03:00:00+00:00"), 3)
    assert due("2025-03-31T05:05:00+02:00", at("2025-04-01T03:30:00+00:00"), 3)


async def test_the_worker_job_runs_the_nightly_when_due_and_once(
    shop: Shop, tmp_path: Path
) -> None:
    await copy_of(shop, tmp_path)
    hour = datetime.now(UTC).hour
    job = nightly_at(hour, shop.sessions, ParquetWarehouse(tmp_path), CONSUMERS)

    await job()
    first = Manifest.load(tmp_path).marks[LAST_RUN_MARK]
    await job()

    assert Manifest.load(tmp_path).marks[LAST_RUN_MARK] == first, "ran twice in one day"


async def test_outbox_rows_every_consumer_passed_are_pruned(shop: Shop, tmp_path: Path) -> None:
    """Last in the module: it deletes outbox rows the tests above stream from."""
    warehouse = await copy_of(shop, tmp_path)
    async with transaction(shop.sessions) as session:
        high = await session.scalar(text("SELECT max(seq) FROM outbox"))
        await session.execute(
            text("UPDATE outbox SET published_at = :old WHERE seq <= :half"),
            {"old": datetime(2025, 1, 1, tzinfo=UTC), "half": high // 2},
        )
        await session.execute(
            text("INSERT INTO projection_checkpoints (consumer, seq) VALUES ('warehouse', :high)"),
            {"high": high},
        )

    alone = await nightly(shop.sessions, warehouse)
    assert alone.outbox_pruned == 0, "the search consumer has no checkpoint: nothing goes"

    async with transaction(shop.sessions) as session:
        await session.execute(
            text("INSERT INTO projection_checkpoints (consumer, seq) VALUES ('search', :seq)"),
            {"seq": high // 4},
        )
    found = await nightly(shop.sessions, warehouse)

    assert found.outbox_pruned == high // 4
    async with shop.sessions() as session:
        left = await session.scalar(text("SELECT min(seq) FROM outbox"))
    assert left == high // 4 + 1
