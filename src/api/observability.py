"""Every request gets an id, a latency observation by route template, and one log line.

The id (the caller's `X-Request-ID` when it is sane, else a new one) is returned in the
response, bound to every log line of the request and copied into the events it causes
(`Envelope.trace_id`), so the worker's lines about those events carry it too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce.tracing import current_trace_id

# A standard logger (rendered as JSON by storefront.logs where configured), so that code
# which never configured logging, like tests and benchmarks, stays quiet.
log = logging.getLogger("api.requests")

REQUEST_SECONDS = Histogram(
    "storefront_http_request_duration_seconds",
    "HTTP request latency by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REQUEST_ID_HEADER = "x-request-id"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = bytes(value).decode("latin-1")
            if SANE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/products/{product_id}`), never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestObservability:
    """Pure ASGI middleware: cheaper than BaseHTTPMiddleware on every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), rid.encode()),
                ]
            await send(message)

        trace_token = current_trace_id.set(rid)
        structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                fields = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                }
                log.info("request", extra=fields)
            structlog.contextvars.unbind_contextvars("request_id")
            current_trace_id.reset(trace_token)
