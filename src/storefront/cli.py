"""`storefront`: run the whole embedded stack, or one process of it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import Progress

from bootstrap.settings import Settings
from storefront import launcher
from storefront.embedded import EmbeddedStack, ServiceStartError, wait_until
from storefront.supervisor import GaveUp, Supervisor

app = typer.Typer(
    help="storefront: search-and-analytics-heavy storefront backend.", no_args_is_help=True
)
console = Console()


async def _load_demo(
    settings: Settings, *, with_accounts: bool
) -> tuple[int, list[tuple[str, str, str]]]:
    """Load the demo catalog once; the demo accounts (published passwords) only if asked."""
    from commerce.db import connected, transaction
    from demo import catalog as demo_catalog

    async with connected(settings.require("database_url")) as sessions:
        async with transaction(sessions) as session:
            users = await demo_catalog.ensure_demo_users(session) if with_accounts else []
            if await demo_catalog.is_loaded(session):
                return 0, users
        with Progress(console=console) as progress:
            task = progress.add_task("Loading demo catalog", total=settings.demo_products)
            async with transaction(sessions) as session:
                added = await demo_catalog.load(
                    session, settings.demo_products, lambda n: progress.advance(task, n)
                )
        return added, users


#: The past `up` writes for a new demo shop (a season's worth: the dashboards' default view).
DEMO_HISTORY_DAYS = 90


async def _load_history(settings: Settings, days: int, orders_per_day: float = 30.0) -> int:
    """Write `days` of demo history (once: a second call finds it and writes nothing)."""
    from commerce.db import connected, transaction
    from demo.history import load_history

    async with connected(settings.require("database_url")) as sessions:
        with Progress(console=console) as progress:
            task = progress.add_task("Writing demo history", total=days)
            async with transaction(sessions) as session:
                return await load_history(
                    session,
                    days,
                    orders_per_day=orders_per_day,
                    progress=lambda n: progress.advance(task, n),
                )


@app.command()
def up(
    fresh: Annotated[bool, typer.Option(help="Wipe the data directory first.")] = False,
    demo: Annotated[
        bool, typer.Option(help="Load the demo catalog into an empty database.")
    ] = True,
    engines: Annotated[
        str | None,
        typer.Option(
            help="embedded (Tansu, the embedded index) or production (Apache Kafka and an "
            "OpenSearch node from Maven jars; `scripts/bootstrap engines` first). "
            "Default: STOREFRONT_ENGINES, else embedded."
        ),
    ] = None,
    demo_history: Annotated[
        bool,
        typer.Option(
            help=f"With a new demo catalog, also {DEMO_HISTORY_DAYS} days of past orders, "
            "refunds, searches and views, so the dashboards show something."
        ),
    ] = True,
) -> None:
    """Start PostgreSQL, Redis, Tansu, the relay, the worker and the API, supervised."""
    launcher.handle_sigterm_like_ctrl_c()
    settings = Settings()
    if engines is not None:
        if engines not in ("embedded", "production"):
            console.print(f"[red]--engines is embedded or production, not {engines!r}[/]")
            raise typer.Exit(2)
        settings = settings.model_copy(update={"engines": engines})
    try:
        launcher.check_not_running(settings.data_dir)
        launcher.check_ports(settings)
    except launcher.LaunchRefused as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from refused
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    production = settings.engines == "production"
    stack = EmbeddedStack(
        settings.data_dir / "services", production=production, log_dir=settings.data_dir / "logs"
    )
    launch = launcher.Launch(settings, stack, {}, report=_report)
    try:
        servers = "Apache Kafka and OpenSearch" if production else "Tansu"
        with console.status(f"Starting PostgreSQL, Redis and {servers}"):
            env = launch.stack.start()
        launch.write_state()
        settings = Settings.model_validate(
            {k.removeprefix("STOREFRONT_").lower(): v for k, v in env.items()}
            | {"data_dir": settings.data_dir, "engines": settings.engines}
        )
        import migrations

        migrations.upgrade(settings.require("database_url"))
        users: list[tuple[str, str, str]] = []
        if demo:
            added, users = asyncio.run(_load_demo(settings, with_accounts=True))
            if added:
                console.print(f"Loaded {added:,} demo products.")
            if added and demo_history:
                past = asyncio.run(_load_history(settings, DEMO_HISTORY_DAYS))
                console.print(f"Wrote {past:,} past orders over {DEMO_HISTORY_DAYS} days.")
        from bootstrap.wiring import (
            backfill_projections,
            fill_empty_stock_index,
            renew_outdated_search,
        )

        with console.status("Checking the search index"):
            renewed = asyncio.run(renew_outdated_search(settings))
        if renewed is not None:
            console.print(f"Rebuilt the search index (a new schema): {renewed:,} products.")

        # A fresh demo goes into search and the warehouse now, in bulk: when `up` says it is
        # up, search holds the whole catalog (streaming it took the worker ~30 s).
        with console.status("Indexing the catalog and filling the warehouse"):
            backfilled = asyncio.run(backfill_projections(settings))
        if backfilled and backfilled.events:
            console.print(
                f"Indexed {backfilled.documents:,} products and {backfilled.events:,} events."
            )
        with console.status("Indexing stock per variant and warehouse"):
            stocked = asyncio.run(fill_empty_stock_index(settings))
        if stocked:
            console.print(f"Indexed stock: {stocked:,} variant-warehouse entries.")
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        child_env = launcher.child_environment(settings, env)
        for command in launcher.CHILDREN:
            if command == "payment-sandbox" and settings.payments_url:
                continue  # a real provider (or another sandbox) is configured
            if command == "mail-catcher" and settings.smtp_host:
                continue  # a real mail server is configured
            launch.children[command] = launcher.Child(
                command, child_env | launcher.CHILDREN[command], logs / f"{command}.log"
            )
            launch.children[command].start()
        launch.write_state()
        url = f"http://{settings.api_host}:{settings.api_port}"
        supervisor = launch.supervisor()
        wait_until(lambda: _healthy(url, supervisor), timeout=60, what="API")
        _print_banner(settings, url, users, logs)
        supervisor.run()
    except KeyboardInterrupt:
        console.print("Stopping…")
    except (ServiceStartError, GaveUp) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from error
    finally:
        launch.stop()


def _report(message: str) -> None:
    console.print(f"[yellow]{time.strftime('%H:%M:%S')} {message}[/]")


def _healthy(url: str, supervisor: Supervisor) -> bool:
    """The API answers; meanwhile children that crash at start are restarted (or given up on)."""
    supervisor.check()
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _mail_home(settings: Settings) -> str:
    if settings.smtp_host:
        return f"sent through {settings.smtp_host}:{settings.smtp_port}"
    return f"{settings.data_dir.resolve() / 'mail'} (a Maildir: emails the shop sent)"


def _print_banner(
    settings: Settings, url: str, users: list[tuple[str, str, str]], logs: Path
) -> None:
    console.print(
        f"[bold green]storefront is up[/]\n  API:      {url}/api\n  Docs:     {url}/docs\n"
        f"  Search:   {url}/api/search?q=wireless%20headphones\n"
        f"  Dashboard: {url}/admin (sign in as the SUPER_ADMIN below)\n"
        + "".join(f"  {role:<12} {email} / {password}\n" for email, password, role in users)
        + f"  Sign in:  POST {url}/api/auth/login\n"
        f"  Status:   storefront status   (metrics: http://{settings.api_metrics_host}:"
        f"{settings.api_metrics_port}/metrics)\n"
        f"  Logs:     {logs}\n"
        f"  Mail:     {_mail_home(settings)}\n"
        f"  Warehouse: {settings.warehouse_dir} (analytics.warehouse.open_warehouse)\n"
        "Crashed parts are restarted. Ctrl-C stops everything."
    )


@app.command()
def api() -> None:
    """Serve the HTTP API (uvicorn); refuses to start without a real signing key."""
    import uvicorn

    from api.app import create_app
    from bootstrap.settings import InsecureSettings
    from storefront import logs

    settings = Settings()
    try:
        settings.signing_key()
    except InsecureSettings as insecure:
        console.print(f"[red]{insecure}[/]")
        raise typer.Exit(1) from insecure
    config = logs.configure("api")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=config,
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Run the stream worker: outbox relay, search and warehouse projections, cache invalidation."""
    from faust.worker import Worker
    from prometheus_client import start_http_server

    from bootstrap.wiring import build_worker, fill_empty_stock_index, renew_outdated_search
    from commerce.events import PUBLISHED_TOPICS
    from storefront import logs
    from streams.relay import prepare_topics

    settings = Settings()
    config = logs.configure("worker")
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    # Before Faust subscribes: its consumer would auto-create them with the broker's default.
    kafka_url = settings.require("kafka_url")
    asyncio.run(prepare_topics(kafka_url, PUBLISHED_TOPICS, settings.kafka_partitions))
    # An index from an older release cannot be opened: rebuild it before projecting into it.
    asyncio.run(renew_outdated_search(settings))
    asyncio.run(fill_empty_stock_index(settings))
    faust_app = build_worker(settings)
    # What exists now lives as long as the process: keep it out of full collections (they
    # stalled batches by tens of ms, as they did API requests).
    gc.collect()
    gc.freeze()
    Worker(faust_app, loglevel="INFO", logging_config=config).execute_from_commandline()


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Each component up or down, the outbox backlog, consumer lag, dead letters per topic."""
    import json

    from rich.table import Table

    from storefront.status import collect

    report = asyncio.run(collect(Settings()))
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        raise typer.Exit(0 if report.healthy else 1)
    components = Table("component", "state", "where / why", title="Components")
    for component in report.components:
        state = "[green]up[/]" if component.up else "[red]down[/]"
        components.add_row(component.name, state, component.detail)
    console.print(components)
    if report.pipeline is not None:
        pipeline = report.pipeline
        console.print(f"Outbox backlog (unpublished events): {pipeline.outbox_backlog:,}")
        lags = Table("consumer", "checkpoint (seq)", "events behind", title="Consumers")
        for lag in pipeline.consumers:
            lags.add_row(lag.consumer, f"{lag.checkpoint:,}", f"{lag.behind:,}")
        console.print(lags)
        letters = ", ".join(f"{t}: {n:,}" for t, n in pipeline.dead_letters.items())
        console.print(f"Dead letters: {letters or 'none'}")
    raise typer.Exit(0 if report.healthy else 1)


@app.command()
def relay() -> None:
    """Run the outbox relay alone (with STOREFRONT_WORKER_RUNS_RELAY=false on the workers)."""
    from bootstrap.wiring import run_relay
    from storefront import logs

    logs.configure("relay")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_relay(Settings()))


@app.command(name="payment-sandbox")
def payment_sandbox() -> None:
    """Serve the card provider's sandbox (test tokens, no money) for the embedded stack."""
    import uvicorn

    from storefront import logs
    from storefront.payment_sandbox import create_sandbox_app

    settings = Settings()
    uvicorn.run(
        create_sandbox_app(),
        host="127.0.0.1",
        port=settings.payments_sandbox_port,
        log_config=logs.configure("payment-sandbox"),
        access_log=False,
    )


@app.command(name="mail-catcher")
def mail_catcher() -> None:
    """Receive the shop's emails into <data dir>/mail (a Maildir) for the embedded stack."""
    from storefront.mail_catcher import serve

    settings = Settings()
    serve(settings.data_dir / "mail", settings.smtp_port)


@app.command(name="migrate")
def run_migrations() -> None:
    """Bring the database schema up to date."""
    import migrations

    migrations.upgrade(launcher.with_running_stack(Settings()).require("database_url"))


@app.command(name="load-demo")
def load_demo(
    with_demo_accounts: Annotated[
        bool,
        typer.Option(
            help="Also create the demo SUPER_ADMIN and CUSTOMER, whose passwords are published."
        ),
    ] = False,
) -> None:
    """Load the deterministic demo catalog into an empty database (no accounts by default)."""
    if with_demo_accounts:
        console.print(
            "[bold red]Warning:[/] creating demo accounts whose passwords are published in the "
            "source, among them a SUPER_ADMIN. Never do this on a database others can reach."
        )
    settings = launcher.with_running_stack(Settings())
    added, users = asyncio.run(_load_demo(settings, with_accounts=with_demo_accounts))
    console.print(f"Loaded {added:,} demo products." if added else "A catalog is already loaded.")
    for email, _, role in users:
        console.print(f"Demo account {role}: {email}")


demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("history")
def demo_history(
    days: Annotated[
        int, typer.Option(min=1, max=3650, help="Days of history, to yesterday.")
    ] = 365,
    orders_per_day: Annotated[float, typer.Option(min=0.1, max=10_000)] = 30.0,
) -> None:
    """Write a plausible past (orders, refunds, customers, searches, views) for dashboards.

    Run it on a stack with a catalog (`storefront up` loads one); the worker streams it into
    the warehouse. It runs once: a second run finds the history there and stops.
    """
    from demo.history import NoCatalog

    async def load() -> int:
        settings = launcher.with_running_stack(Settings())
        return await _load_history(settings, days, orders_per_day)

    try:
        written = asyncio.run(load())
    except NoCatalog as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from error
    if written:
        console.print(f"Wrote {written:,} past orders over {days} days; the worker streams them.")
    else:
        console.print("History was loaded before; nothing written.")


search_app = typer.Typer(help="The search index.", no_args_is_help=True)
app.add_typer(search_app, name="search")


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


etl_app = typer.Typer(help="Warehouse jobs.", no_args_is_help=True)
app.add_typer(etl_app, name="etl")


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


warehouse_app = typer.Typer(help="The analytics warehouse.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")


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


users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    first_name: str = "Super",
    last_name: str = "Admin",
) -> None:
    """Create a SUPER_ADMIN account (the first one cannot be made through the API)."""
    from commerce.errors import DomainError

    async def create() -> None:
        from commerce.db import connected, transaction
        from commerce.identity.accounts import create_user
        from commerce.identity.permissions import SUPER_ADMIN

        url = launcher.with_running_stack(Settings()).require("database_url")
        async with connected(url) as sessions, transaction(sessions) as session:
            await create_user(
                session,
                email,
                password,
                role=SUPER_ADMIN,
                first_name=first_name,
                last_name=last_name,
            )

    try:
        asyncio.run(create())
    except DomainError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(1) from error
    console.print(f"Created SUPER_ADMIN {email}.")


import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("products")
def import_products_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import products and variants from CSV (see samples/products.csv): every row is checked
    first and nothing is written if any is bad; then upserts by SKU, in batches."""
    from commerce.catalog.imports import ImportRejected, import_products
    from commerce.db import connected

    async def run() -> dict[str, int]:
        url = launcher.with_running_stack(Settings()).require("database_url")
        async with connected(url) as sessions:
            with Progress(console=console) as progress:
                task = progress.add_task(f"Importing {file.name}", total=None)
                report = await import_products(
                    sessions,
                    file.read_bytes(),
                    lambda done, total: progress.update(task, completed=done, total=total),
                )
            return report.as_dict()

    try:
        report = asyncio.run(run())
    except ImportRejected as rejected:
        console.print(f"[red]{rejected.detail}[/]")
        for error in rejected.extra["errors"]:
            console.print(f"  line {error['line']}, {error['column'] or 'file'}: {error['reason']}")
        raise typer.Exit(1) from rejected
    console.print(", ".join(f"{name.replace('_', ' ')}: {n:,}" for name, n in report.items()))


export_app = typer.Typer(help="Exports.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("products")
def export_products_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True)],
) -> None:
    """Write the live catalog to FILE as CSV in the import's format (edit it, import it back)."""
    from commerce.catalog.exports import export_products
    from commerce.db import connected

    async def run() -> None:
        url = launcher.with_running_stack(Settings()).require("database_url")
        async with connected(url) as sessions:
            with file.open("w", encoding="utf-8", newline="") as out:
                async for chunk in export_products(sessions):
                    out.write(chunk)

    asyncio.run(run())
    console.print(f"Wrote {file}.")


rates_app = typer.Typer(help="Exchange rates.", no_args_is_help=True)
app.add_typer(rates_app, name="rates")


@rates_app.command("refresh")
def refresh_rates() -> None:
    """Fetch today's reference rates (STOREFRONT_RATES_URL, the ECB's by default) and use them."""
    from redis.asyncio import Redis

    from commerce.currency import service as rates
    from commerce.currency.feed import EcbFeed, RateFeedUnavailable
    from commerce.currency.rates import RateFeedError
    from commerce.db import connected

    settings = launcher.with_running_stack(Settings())

    async def run() -> None:
        redis = Redis.from_url(settings.require("redis_url"))
        try:
            async with (
                connected(settings.require("database_url")) as sessions,
                httpx.AsyncClient() as http,
                sessions() as session,
            ):
                feed = EcbFeed(http, settings.rates_url)
                table = await rates.refresh(
                    session, redis, feed, max_move=settings.rates_max_daily_move
                )
        finally:
            await redis.aclose()
        shown = ", ".join(f"{code} {rate.normalize()}" for code, rate in table.per_usd.items())
        console.print(f"Rates of {table.date} per US dollar: {shown}")

    try:
        asyncio.run(run())
    except (RateFeedUnavailable, RateFeedError) as error:
        console.print(f"[red]Could not refresh the rates: {error}[/]")
        raise typer.Exit(1) from error


if __name__ == "__main__":
    app()
