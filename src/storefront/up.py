"""`storefront up`, step by step: the servers, the schema, the demo shop, the indexes filled
in bulk, then the relay, the worker and the API, supervised until Ctrl-C.

Each step waits on a condition, never a sleep; whatever was started is stopped however
`up` ends.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

import migrations
from bootstrap.settings import Settings
from bootstrap.wiring import (
    backfill_projections,
    fill_empty_stock_index,
    renew_outdated_search,
    set_aside_outdated_stock_index,
)
from storefront import launcher, seeding
from storefront.embedded import EmbeddedStack, wait_until
from storefront.supervisor import Supervisor

#: How long the API may take to answer its health check once started.
API_START_SECONDS = 60


@dataclass(frozen=True)
class UpOptions:
    fresh: bool = False
    demo: bool = True
    demo_history: bool = True


def bring_up(settings: Settings, options: UpOptions, console: Console) -> None:
    """Run the whole stack until interrupted. Raises LaunchRefused before starting anything
    (a port taken, a stack running), ServiceStartError or GaveUp when a part cannot run."""
    launcher.check_not_running(settings.data_dir)
    launcher.check_ports(settings)
    if options.fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    production = settings.engines == "production"
    stack = EmbeddedStack(
        settings.data_dir / "services", production=production, log_dir=settings.data_dir / "logs"
    )
    launch = launcher.Launch(settings, stack, {}, report=lambda line: _report(console, line))
    try:
        servers = "Apache Kafka and OpenSearch" if production else "Tansu"
        with console.status(f"Starting PostgreSQL, Redis and {servers}"):
            env = launch.stack.start()
        launch.write_state()
        settings = Settings.model_validate(
            {k.removeprefix("STOREFRONT_").lower(): v for k, v in env.items()}
            | {"data_dir": settings.data_dir, "engines": settings.engines}
        )
        migrations.upgrade(settings.require("database_url"))
        users = _load_demo(settings, options, console) if options.demo else []
        _fill_indexes(settings, console)
        _start_children(launch, settings, env)
        url = f"http://{settings.api_host}:{settings.api_port}"
        supervisor = launch.supervisor()
        wait_until(lambda: _healthy(url, supervisor), timeout=API_START_SECONDS, what="API")
        _print_banner(console, settings, url, users, settings.data_dir / "logs")
        supervisor.run()
    except KeyboardInterrupt:
        console.print("Stopping…")
    finally:
        launch.stop()


def _load_demo(
    settings: Settings, options: UpOptions, console: Console
) -> list[tuple[str, str, str]]:
    """A new demo shop, with its accounts and (unless declined) a season of history."""
    added, users = asyncio.run(seeding.load_demo(settings, console, with_accounts=True))
    if added:
        console.print(f"Loaded {added:,} demo products.")
    if added and options.demo_history:
        days = seeding.DEMO_HISTORY_DAYS
        past = asyncio.run(seeding.load_demo_history(settings, console, days))
        console.print(f"Wrote {past:,} past orders over {days} days.")
    return users


def _fill_indexes(settings: Settings, console: Console) -> None:
    """Search, the stock index and the warehouse filled in bulk: when `up` says it is up,
    search holds the whole catalog (streaming a fresh demo took the worker ~30 s)."""
    if set_aside_outdated_stock_index(settings):
        console.print("Set aside the stock index (a new schema): it is rebuilt below.")
    with console.status("Checking the search index"):
        renewed = asyncio.run(renew_outdated_search(settings))
    if renewed is not None:
        console.print(f"Rebuilt the search index (a new schema): {renewed:,} products.")
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


def _start_children(launch: launcher.Launch, settings: Settings, env: dict[str, str]) -> None:
    """The relay, the workers, the API and the stand-ins the settings do not replace."""
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    child_env = launcher.child_environment(settings, env)
    for name, command in launcher.CHILDREN.items():
        if name == "payment-sandbox" and settings.payments_url:
            continue  # a real provider (or another sandbox) is configured
        if name == "mail-catcher" and settings.smtp_host:
            continue  # a real mail server is configured
        own = launcher.child_settings(name, settings)
        launch.children[name] = launcher.Child(command, child_env | own, logs / f"{name}.log")
        launch.children[name].start()
    launch.write_state()


def _report(console: Console, message: str) -> None:
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
    console: Console, settings: Settings, url: str, users: list[tuple[str, str, str]], logs: Path
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
