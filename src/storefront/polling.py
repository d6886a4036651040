"""Waiting for something outside this process to happen: one loop for every such wait."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.02) -> bool:
    """Ask `condition` every `interval` seconds until it holds (True) or `timeout` seconds
    have passed (False); it is asked once more at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)  # a polling interval, not synchronisation
    return True
