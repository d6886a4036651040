"""The nightly job run by the worker at a configured hour (UTC), as cron would run it.

The worker asks every minute whether the run is due: the hour has passed today and the
warehouse records no run since. The record is the manifest's mark of the last run, so a
worker restarted after the run does not run it again, and a run missed while the worker was
down happens when it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.warehouse import Manifest, ParquetWarehouse
from etl.nightly import LAST_RUN_MARK, run_nightly

log = logging.getLogger(__name__)


def due(last_run: str | None, now: datetime, hour: int) -> bool:
    """Whether a run is due at `now`: none since the latest `hour` o'clock UTC that passed."""
    latest = now.astimezone(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    if latest > now:
        latest -= timedelta(days=1)
    return last_run is None or datetime.fromisoformat(last_run) < latest


def nightly_at(
    hour: int,
    sessions: async_sessionmaker[AsyncSession],
    warehouse: ParquetWarehouse,
    consumers: Sequence[str],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[], Awaitable[None]]:
    """The worker's periodic job: runs the nightly ETL once a day, after `hour` UTC."""

    async def maybe_run() -> None:
        last = Manifest.load(warehouse.root).marks.get(LAST_RUN_MARK)
        if not due(last, clock(), hour):
            return
        try:
            report = await run_nightly(sessions, warehouse, consumers)
        except Exception:
            # The next minute tries again; the worker carries on.
            log.exception("nightly ETL failed")
            return
        log.info(
            "nightly ETL done",
            extra={"compacted": report.compacted, "drift_days": len(report.drift)},
        )
        for drift in report.drift:
            log.warning(
                "warehouse drifts from PostgreSQL",
                extra={
                    "day": str(drift.day),
                    "postgres": drift.postgres[0],
                    "warehouse": drift.warehouse[0],
                },
            )

    return maybe_run
