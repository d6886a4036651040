"""The demo shop written into a running stack's database, with progress bars: `up` and the
load-demo commands share it."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from bootstrap.settings import Settings
from commerce.db import connected, transaction
from demo import catalog as demo_catalog
from demo.history import load_history

#: The past `up` writes for a new demo shop (a season's worth: the dashboards' default view).
DEMO_HISTORY_DAYS = 90


async def load_demo(
    settings: Settings, console: Console, *, with_accounts: bool
) -> tuple[int, list[tuple[str, str, str]]]:
    """Load the demo catalog once; the demo accounts (published passwords) only if asked."""
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


async def load_demo_history(
    settings: Settings, console: Console, days: int, orders_per_day: float = 30.0
) -> int:
    """Write `days` of demo history (once: a second call finds it and writes nothing)."""
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
