"""A local mail server for the embedded stack: every email the shop sends lands in a
Maildir under the data folder (`storefront up` runs it unless STOREFRONT_SMTP_HOST names a
real server). A mail client, or `python -m mailbox`-style scripts, read it there."""

from __future__ import annotations

import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def serve(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    """Accept mail on host:port into the Maildir `directory` until interrupted."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(directory), hostname=host, port=port)
    controller.start()
    print(f"mail catcher on {host}:{port}, delivering to {directory}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
