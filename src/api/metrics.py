"""The API process's Prometheus metrics and the pipeline's state as PostgreSQL sees it.

Served two ways: `/metrics` on the API for staff with VIEW_DASHBOARD (a token, always: behind
a proxy on the same host every caller looks local), and without a token on a loopback port
of its own (`STOREFRONT_API_METRICS_PORT`), where a local Prometheus agent scrapes, as it
does the worker's. The loopback server runs in a thread, so the pipeline's gauges are read
from PostgreSQL by a task of the API's loop every `METRICS_REFRESH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import Gauge, start_http_server
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap import probes
from streams.monitoring import pipeline_status

OUTBOX_BACKLOG = Gauge("storefront_outbox_backlog", "Outbox rows not yet published.")
CONSUMER_LAG = Gauge(
    "storefront_consumer_lag_events", "Events a consumer has not applied yet.", ["consumer"]
)
CONSUMER_CHECKPOINT = Gauge(
    "storefront_consumer_checkpoint_seq",
    "The outbox seq below which a consumer has applied everything.",
    ["consumer"],
)
DEAD_LETTERS = Gauge("storefront_dead_letters", "Dead letters kept, by topic.", ["topic"])
PIPELINE_READ = Gauge(
    "storefront_pipeline_state_read", "1 when the pipeline gauges were read from PostgreSQL."
)
REFRESH_SECONDS = 5.0


async def read_pipeline(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set the pipeline's gauges from PostgreSQL; when it is down or slow, say so instead."""
    try:
        async with sessions() as session:
            status = await asyncio.wait_for(pipeline_status(session), probes.TIMEOUT)
    except (OSError, TimeoutError, SQLAlchemyError):
        PIPELINE_READ.set(0)
        return
    PIPELINE_READ.set(1)
    OUTBOX_BACKLOG.set(status.outbox_backlog)
    for lag in status.consumers:
        CONSUMER_LAG.labels(lag.consumer).set(lag.behind)
        CONSUMER_CHECKPOINT.labels(lag.consumer).set(lag.checkpoint)
    for topic, count in status.dead_letters.items():
        DEAD_LETTERS.labels(topic).set(count)


class LoopbackMetrics:
    """The metrics on their own port (loopback by default), kept current while it runs."""

    def __init__(self, host: str, port: int, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.host, self.port, self.sessions = host, port, sessions
        self.server: WSGIServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server, self.thread = start_http_server(self.port, addr=self.host)

    async def refresh(self) -> None:
        while True:
            await read_pipeline(self.sessions)
            await asyncio.sleep(REFRESH_SECONDS)

    def stop(self) -> None:
        """Close the port; blocks up to the server's poll interval, so call it off the loop.

        Not from the refresh task's `finally`: a second cancel from the app's shutdown
        could end that await early, leaving the port accepting after the app has stopped.
        """
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            with contextlib.suppress(RuntimeError):
                self.thread.join(5)
