"""The nightly job: rates in, files compacted, rollups rebuilt, facts checked, outbox pruned.

Facts reach the warehouse once each, from the stream. The nightly job loads what does not
stream (the exchange rates, by a watermark kept in the manifest), then compacts each table's
day of small files, rebuilds every rollup from the facts, compares the facts with
PostgreSQL day by day and reports any drift, and deletes outbox rows every consumer has
passed. Each step is whole or not done, so a run killed at any point is finished by running
it again, and running it twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.compaction import compact_if_many, rebuild_rollups
from analytics.rollups import PAID_ORDERS
from analytics.warehouse import ParquetWarehouse, open_warehouse
from commerce.db import transaction

RATES_MARK = "etl.rates_through"
LAST_RUN_MARK = "etl.last_run"
#: Outbox rows stay this long after every consumer passed them (for replays and audits).
KEEP_OUTBOX_DAYS = 7

RATES = text("""
SELECT rate_date, currency, per_usd, source FROM exchange_rates
WHERE rate_date > :after ORDER BY rate_date, currency
""")
#: Paid orders and refunds per UTC day, as PostgreSQL holds them.
PAID_BY_DAY = text("""
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*), sum(round(total / rate, 2))
FROM orders WHERE paid_at IS NOT NULL AND created_at >= :since GROUP BY 1
""")
PRUNE = text("""
DELETE FROM outbox WHERE published_at IS NOT NULL
  AND published_at < now() - make_interval(days => :keep)
  AND seq <= (
      SELECT CASE WHEN count(*) = cardinality(CAST(:names AS text[])) THEN min(seq) ELSE 0 END
      FROM projection_checkpoints WHERE consumer = ANY(CAST(:names AS text[]))
  )
""")
#: The same per day from the warehouse's facts, as the rollups define a paid order.
WAREHOUSE_PAID_BY_DAY = f"""
SELECT CAST(placed_at AS DATE) AS day, count(*), sum(total_usd)
FROM ({PAID_ORDERS}) paid WHERE placed_at >= ? GROUP BY 1
"""


@dataclass(frozen=True)
class Drift:
    day: date
    postgres: tuple[int, Decimal]
    warehouse: tuple[int, Decimal]


@dataclass
class NightlyReport:
    rates_loaded: int = 0
    compacted: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    outbox_pruned: int = 0


Step = Callable[[str], None]
#: The steps in the order they run, as `step` is told of them.
STEPS = ("extract rates", "compact", "rebuild rollups", "reconcile", "prune outbox")


async def run_nightly(
    sessions: async_sessionmaker[AsyncSession],
    warehouse: ParquetWarehouse,
    consumers: Sequence[str],
    *,
    check_days: int = 400,
    today: date | None = None,
    step: Step = lambda name: None,
) -> NightlyReport:
    """Every step in order; `step(name)` is told as each one starts (progress bars)."""
    report = NightlyReport()
    step("extract rates")
    report.rates_loaded = await load_rates(sessions, warehouse)
    step("compact")
    report.compacted = await asyncio.to_thread(compact_if_many, warehouse, 1)
    step("rebuild rollups")
    await asyncio.to_thread(rebuild_rollups, warehouse)
    step("reconcile")
    since = (today or date.today()) - timedelta(days=check_days)
    report.drift = await reconcile(sessions, warehouse, since)
    step("prune outbox")
    report.outbox_pruned = await prune_outbox(sessions, consumers)
    warehouse.mark({LAST_RUN_MARK: datetime.now().astimezone().isoformat()})
    return report


async def load_rates(
    sessions: async_sessionmaker[AsyncSession], warehouse: ParquetWarehouse
) -> int:
    """Rates published since the watermark, appended with the new watermark at once."""
    after = date.fromisoformat(warehouse.manifest.marks.get(RATES_MARK, "1970-01-01"))
    async with sessions() as session:
        rates = (await session.execute(RATES, {"after": after})).all()
    if not rates:
        return 0
    rows = [
        {"rate_date": r.rate_date, "currency": r.currency, "per_usd": r.per_usd, "source": r.source}
        for r in rates
    ]
    through = max(r.rate_date for r in rates).isoformat()
    await asyncio.to_thread(warehouse.append, {"dim_currency": rows}, None, {RATES_MARK: through})
    return len(rows)


async def reconcile(
    sessions: async_sessionmaker[AsyncSession], warehouse: ParquetWarehouse, since: date
) -> list[Drift]:
    """Days whose paid orders (count, dollars) differ between PostgreSQL and the warehouse."""
    async with sessions() as session:
        expected = {
            row[0]: (int(row[1]), row[2])
            for row in await session.execute(PAID_BY_DAY, {"since": since})
        }
    with open_warehouse(warehouse.root) as facts:
        found = {
            row[0]: (int(row[1]), row[2])
            for row in facts.execute(WAREHOUSE_PAID_BY_DAY, [since]).fetchall()
        }
    none = (0, Decimal("0.00"))
    return [
        Drift(day, expected.get(day, none), found.get(day, none))
        for day in sorted(expected.keys() | found.keys())
        if expected.get(day, none) != found.get(day, none)
    ]


async def prune_outbox(sessions: async_sessionmaker[AsyncSession], consumers: Sequence[str]) -> int:
    """Delete published rows older than KEEP_OUTBOX_DAYS that every consumer has passed."""
    async with transaction(sessions) as session:
        result = await session.execute(PRUNE, {"keep": KEEP_OUTBOX_DAYS, "names": list(consumers)})
    return int(result.rowcount)  # type: ignore[attr-defined]
