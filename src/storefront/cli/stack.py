"""Commands that run the stack or one process of it, and its status."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Annotated

import typer

from bootstrap.settings import Settings
from storefront import launcher, seeding
from storefront.cli.app import app, console
from storefront.embedded import ServiceStartError
from storefront.supervisor import GaveUp


@app.command(rich_help_panel="The stack")
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
            help=f"With a new demo catalog, also {seeding.DEMO_HISTORY_DAYS} days of past "
            "orders, "
            "refunds, searches and views, so the dashboards show something."
        ),
    ] = True,
) -> None:
    """Start PostgreSQL, Redis, Tansu, the relay, the worker and the API, supervised."""
    from storefront.up import UpOptions, bring_up

    launcher.handle_sigterm_like_ctrl_c()
    settings = Settings()
    if engines is not None:
        if engines not in ("embedded", "production"):
            console.print(f"[red]--engines is embedded or production, not {engines!r}[/]")
            raise typer.Exit(2)
        settings = settings.model_copy(update={"engines": engines})
    try:
        bring_up(settings, UpOptions(fresh, demo, demo_history), console)
    except launcher.LaunchRefused as refused:
        console.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from refused
    except (ServiceStartError, GaveUp) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from error


@app.command(rich_help_panel="The stack")
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
        # Pushes are small JSON, and the same one goes to every staff socket: compressing it
        # again for each socket cost CPU to save a few hundred bytes.
        ws_per_message_deflate=False,
    )


@app.command(rich_help_panel="The stack")
def worker() -> None:
    """Run the stream worker: outbox relay, search and warehouse projections, cache invalidation."""
    from faust.worker import Worker
    from prometheus_client import start_http_server

    from bootstrap.wiring import (
        build_worker,
        fill_empty_stock_index,
        renew_outdated_search,
        set_aside_outdated_stock_index,
    )
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
    # An index from an older release cannot be opened: rebuild it before projecting into it
    # (the stock index is set aside first: every process's adapters open it).
    set_aside_outdated_stock_index(settings)
    asyncio.run(renew_outdated_search(settings))
    asyncio.run(fill_empty_stock_index(settings))
    faust_app = build_worker(settings)
    # What exists now lives as long as the process: keep it out of full collections (they
    # stalled batches by tens of ms, as they did API requests).
    gc.collect()
    gc.freeze()
    # A catch-up page makes ~10,000 events' objects at once: at the default 700 allocations
    # the young collections ran so often that collecting was 9% of the worker's samples
    # (bench/worker 3,560 -> 4,390 events/s with this threshold).
    gc.set_threshold(50_000, 20, 20)
    Worker(faust_app, loglevel="INFO", logging_config=config).execute_from_commandline()


@app.command(rich_help_panel="The stack")
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


@app.command(rich_help_panel="The stack")
def relay() -> None:
    """Run the outbox relay alone (with STOREFRONT_WORKER_RUNS_RELAY=false on the workers)."""
    from bootstrap.wiring import run_relay
    from storefront import logs

    logs.configure("relay")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_relay(Settings()))


@app.command(name="payment-sandbox", rich_help_panel="The stack")
def payment_sandbox() -> None:
    """Serve the card provider's sandbox (test tokens, no money) for the embedded stack."""
    import uvicorn

    from storefront import logs
    from storefront.stand_ins.payments import create_sandbox_app

    settings = Settings()
    uvicorn.run(
        create_sandbox_app(),
        host="127.0.0.1",
        port=settings.payments_sandbox_port,
        log_config=logs.configure("payment-sandbox"),
        access_log=False,
    )


@app.command(name="mail-catcher", rich_help_panel="The stack")
def mail_catcher() -> None:
    """Receive the shop's emails into <data dir>/mail (a Maildir) for the embedded stack."""
    from storefront.stand_ins.mail import serve

    settings = Settings()
    serve(settings.data_dir / "mail", settings.smtp_port)
