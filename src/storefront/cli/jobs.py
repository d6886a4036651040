"""Jobs beside the running stack: rebuilding the search index, the warehouse's ETL, and
the DuckDB shell on the warehouse."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from bootstrap.settings import Settings
from storefront import launcher
from storefront.cli.app import console, group

search_app = group("search", "The search index.", "Jobs")


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from PostgreSQL beside the live one, then swap to it at once.

    Searches keep answering from the old index until the swap; changes made meanwhile are
    caught up from the outbox. Run it after changing analysis settings or to recover a
    damaged index; the worker may keep running.
    """
    from bootstrap.wiring import reindex_search

    settings = launcher.with_running_stack(Settings())
    with Progress(console=console) as progress:
        task = progress.add_task("indexing products", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        done = asyncio.run(reindex_search(settings, advance))
    console.print(
        f"Indexed {done.documents:,} products into {done.index} and swapped to it; "
        f"{done.caught_up:,} changed meanwhile and were caught up."
    )


etl_app = group("etl", "Warehouse jobs.", "Jobs")


@etl_app.command("nightly")
def etl_nightly(
    check_days: Annotated[
        int, typer.Option(min=1, max=3650, help="Days back to reconcile with PostgreSQL.")
    ] = 400,
) -> None:
    """Load rates, compact, rebuild rollups, reconcile with PostgreSQL, prune the outbox.

    Safe to re-run, and a run that was killed is finished by running it again. Exits 1 if a
    step fails, 2 if the warehouse's paid orders drift from PostgreSQL's (listed per day).
    """
    from analytics.warehouse import ParquetWarehouse
    from commerce.db import connected
    from etl.nightly import STEPS, NightlyReport, run_nightly
    from streams.handlers import consumer_names

    settings = launcher.with_running_stack(Settings())

    async def run() -> NightlyReport:
        async with connected(settings.require("database_url")) as sessions:
            with Progress(console=console) as progress:
                task = progress.add_task("nightly", total=5)

                def step(name: str) -> None:
                    progress.update(
                        task, description=name, advance=0 if name == "extract rates" else 1
                    )

                found = await run_nightly(
                    sessions,
                    ParquetWarehouse(settings.warehouse_dir),
                    consumer_names(),
                    check_days=check_days,
                    step=step,
                )
                progress.update(task, description="done", completed=len(STEPS))
                return found

    try:
        report = asyncio.run(run())
    except Exception as error:
        console.print(f"[red]Nightly ETL failed:[/] {error!r}. Fix the cause and run it again.")
        raise typer.Exit(1) from error
    console.print(
        f"Rates loaded: {report.rates_loaded}; compacted: {', '.join(report.compacted) or '-'}; "
        f"outbox rows pruned: {report.outbox_pruned:,}."
    )
    if report.drift:
        for drift in report.drift:
            console.print(
                f"[yellow]drift[/] {drift.day}: PostgreSQL {drift.postgres[0]} orders "
                f"${drift.postgres[1]}, warehouse {drift.warehouse[0]} orders ${drift.warehouse[1]}"
            )
        raise typer.Exit(2)
    console.print("Warehouse agrees with PostgreSQL.")


@etl_app.command("backfill")
def etl_backfill(
    since: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (UTC) of orders to fill in.")
    ],
) -> None:
    """Fill in, from PostgreSQL, the order facts the warehouse lacks for orders placed since
    a day (history from before the warehouse, or facts lost), then rebuild the rollups.

    Rows already in the warehouse stay as they are, and orders whose events the worker has
    yet to write are left to it: safe to re-run and to run while the stack runs.
    """
    from analytics.compaction import rebuild_rollups
    from analytics.warehouse import ParquetWarehouse
    from etl.extract import fill_orders

    settings = launcher.with_running_stack(Settings())
    warehouse = ParquetWarehouse(settings.warehouse_dir)
    try:
        with console.status(f"Reading orders placed since {since.date()} from PostgreSQL"):
            filled = fill_orders(
                warehouse,
                settings.require("database_url"),
                since.date(),
                settings.data_dir / "duckdb-extensions",
            )
        with console.status("Rebuilding the rollups"):
            rebuild_rollups(warehouse)
    except Exception as error:
        console.print(f"[red]Backfill failed:[/] {error!r}. Fix the cause and run it again.")
        raise typer.Exit(1) from error
    console.print(
        f"Read {filled.orders_read:,} orders; filled in {filled.lines:,} order lines and "
        f"{filled.order_events:,} order events the warehouse lacked."
    )


warehouse_app = group("warehouse", "The analytics warehouse.", "Jobs")


@warehouse_app.command("shell")
def warehouse_shell(
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Run this SQL and exit.")
    ] = None,
) -> None:
    """Open the DuckDB shell on the warehouse as it is now: every table a view, read-only.

    Safe while the stack runs. The snapshot is the one published when the shell opened;
    open it again for newer data (files compacted away are kept for ten minutes).
    """
    from analytics.warehouse import open_warehouse

    settings = Settings()
    duckdb_cli = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which(
        "duckdb"
    )
    if duckdb_cli is None:
        console.print("[red]The DuckDB shell is missing:[/] pip install duckdb-cli")
        raise typer.Exit(1)
    with tempfile.TemporaryDirectory(prefix="storefront-warehouse-") as folder:
        snapshot = str(Path(folder) / "warehouse.duckdb")
        open_warehouse(settings.warehouse_dir, database=snapshot).close()
        arguments = [duckdb_cli, "-readonly", snapshot, *(["-c", command] if command else [])]
        raise typer.Exit(subprocess.run(arguments, check=False).returncode)
