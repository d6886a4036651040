"""`storefront`: run the whole embedded stack, or one process of it."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import Progress

from storefront import migrate, processes
from storefront.embedded import EmbeddedStack, ServiceStartError, wait_until
from storefront.settings import Settings

app = typer.Typer(
    help="storefront: search-and-analytics-heavy storefront backend.", no_args_is_help=True
)
console = Console()


async def _load_demo(settings: Settings) -> tuple[int, list[tuple[str, str, str]]]:
    from commerce.db import create_engine, session_factory, transaction
    from storefront import demo

    engine = create_engine(settings.require("database_url"))
    try:
        async with transaction(session_factory(engine)) as session:
            users = await demo.ensure_demo_users(session)
            if await demo.is_loaded(session):
                return 0, users
        with Progress(console=console) as progress:
            task = progress.add_task("Loading demo catalog", total=settings.demo_products)
            async with transaction(session_factory(engine)) as session:
                added = await demo.load(
                    session, settings.demo_products, lambda n: progress.advance(task, n)
                )
        return added, users
    finally:
        await engine.dispose()


@app.command()
def up(
    fresh: Annotated[bool, typer.Option(help="Wipe the data directory first.")] = False,
    demo: Annotated[
        bool, typer.Option(help="Load the demo catalog into an empty database.")
    ] = True,
) -> None:
    """Start PostgreSQL, Redis, Tansu, the worker and the API; Ctrl-C stops them all."""
    # SIGTERM (systemd, `timeout`, an IDE's stop button) must clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    settings = Settings()
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    stack = EmbeddedStack(settings.data_dir / "services")
    children = []
    try:
        with console.status("Starting PostgreSQL, Redis and Tansu"):
            env = stack.start()
        settings = Settings.model_validate(
            {k.removeprefix("STOREFRONT_").lower(): v for k, v in env.items()}
        )
        migrate.upgrade(settings.require("database_url"))
        users: list[tuple[str, str, str]] = []
        if demo:
            added, users = asyncio.run(_load_demo(settings))
            if added:
                console.print(f"Loaded {added:,} demo products.")
        from search.tantivy_backend import open_index

        open_index(settings.search_dir)
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        children.append(processes.spawn(["worker"], env, logs / "worker.log"))
        children.append(processes.spawn(["api"], env, logs / "api.log"))
        url = f"http://{settings.api_host}:{settings.api_port}"
        wait_until(lambda: _healthy(url, children), timeout=60, what="API")
        console.print(
            f"[bold green]storefront is up[/]\n  API:      {url}/api\n  Docs:     {url}/docs\n"
            f"  Search:   {url}/api/search?q=wireless%20headphones\n"
            + "".join(f"  {role:<12} {email} / {password}\n" for email, password, role in users)
            + f"  Sign in:  POST {url}/api/auth/login\n"
            f"  Logs:     {logs}\n"
            f"  Warehouse: {settings.warehouse_dir} (analytics.warehouse.open_warehouse)\n"
            "Ctrl-C stops everything."
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        console.print("[red]A child process exited; stopping. See the logs.[/]")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("Stopping…")
    except ServiceStartError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from error
    finally:
        for child in reversed(children):
            processes.stop(child)
        stack.stop()


def _healthy(url: str, children: list[subprocess.Popen[bytes]]) -> bool:
    if any(child.poll() is not None for child in children):
        raise ServiceStartError("a child process exited during start-up")
    try:
        return httpx.get(f"{url}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@app.command()
def api() -> None:
    """Serve the HTTP API (uvicorn)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info"
    )


@app.command()
def worker() -> None:
    """Run the stream worker: outbox relay, search and warehouse projections, cache invalidation."""
    from faust.worker import Worker

    from commerce.events import TOPICS
    from storefront.wiring import build_worker
    from streams.relay import prepare_topics

    settings = Settings()
    # Before Faust subscribes: its consumer would auto-create them with the broker's default.
    asyncio.run(prepare_topics(settings.require("kafka_url"), TOPICS, settings.kafka_partitions))
    faust_app = build_worker(settings)
    Worker(faust_app, loglevel="INFO", quiet=True).execute_from_commandline()


@app.command(name="migrate")
def run_migrations() -> None:
    """Bring the database schema up to date."""
    migrate.upgrade(Settings().require("database_url"))


@app.command(name="load-demo")
def load_demo() -> None:
    """Load the deterministic demo catalog into an empty database."""
    added, _ = asyncio.run(_load_demo(Settings()))
    console.print(f"Loaded {added:,} demo products." if added else "A catalog is already loaded.")


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
        from commerce.db import create_engine, session_factory, transaction
        from commerce.identity.service import create_user

        engine = create_engine(Settings().require("database_url"))
        try:
            async with transaction(session_factory(engine)) as session:
                await create_user(
                    session, email, password, first_name=first_name, last_name=last_name
                )
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
    except DomainError as error:
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(1) from error
    console.print(f"Created SUPER_ADMIN {email}.")


if __name__ == "__main__":
    app()
