"""Commands that write data into a running stack: the schema, the demo shop, accounts,
catalog imports and exports, exchange rates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.progress import Progress

from bootstrap.settings import Settings
from storefront import launcher, seeding
from storefront.cli.app import app, console, group


@app.command(name="migrate", rich_help_panel="Data")
def run_migrations() -> None:
    """Bring the database schema up to date."""
    import migrations

    migrations.upgrade(launcher.with_running_stack(Settings()).require("database_url"))


@app.command(name="load-demo", rich_help_panel="Data")
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
    added, users = asyncio.run(
        seeding.load_demo(settings, console, with_accounts=with_demo_accounts)
    )
    console.print(f"Loaded {added:,} demo products." if added else "A catalog is already loaded.")
    for email, _, role in users:
        console.print(f"Demo account {role}: {email}")


demo_app = group("demo", "Demo data.", "Data")


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
        return await seeding.load_demo_history(settings, console, days, orders_per_day)

    try:
        written = asyncio.run(load())
    except NoCatalog as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from error
    if written:
        console.print(f"Wrote {written:,} past orders over {days} days; the worker streams them.")
    else:
        console.print("History was loaded before; nothing written.")


users_app = group("users", "Accounts.", "Data")


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
        from commerce.identity.permissions import SUPER_ADMIN
        from commerce.identity.service import create_user

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


import_app = group("import", "Bulk imports.", "Data")


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


export_app = group("export", "Exports.", "Data")


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


rates_app = group("rates", "Exchange rates.", "Data")


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
