"""An ASGI app served over real HTTP, for clients that are not Python (a browser, a fuzzer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from storefront.embedded import free_port, wait_until


@contextmanager
def served(app: ASGIApp, what: str) -> Iterator[str]:
    """The app in a uvicorn server of its own (its own thread and event loop); its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=60, what=what)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
