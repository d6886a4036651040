"""Keeps the children of `storefront up` running: restarts what crashes, gives up on crash loops.

A crashed child is restarted at once, then with a doubling delay if it keeps crashing. A
crashed broker comes back on its port (empty: its log was in memory) and takes the worker
with it: a Faust consumer does not recover from a broker that lost its groups (FACTS.md),
and the new worker's relay re-sends what the broker lost. A component that crashes too
often in a short time is given up on, with its exit code and the last lines of its log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

Report = Callable[[str], None]


class GaveUp(RuntimeError):
    """A component kept crashing; the message says which, how and what its log says."""


class Supervisable(Protocol):
    """A child: `start` returns once it runs (a server: once it is ready)."""

    @property
    def log_path(self) -> Path: ...

    def start(self) -> None: ...

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...


@dataclass
class Component:
    """One supervised child with its restart policy and recent crashes."""

    name: str
    child: Supervisable
    #: Components to restart whenever this one is restarted.
    restart_with: tuple[str, ...] = ()
    crashes: deque[float] = field(default_factory=deque)
    due: float | None = None
    restarts: int = 0


def last_lines(path: Path, count: int = 15) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 16_384))
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-count:])


@dataclass
class Supervisor:
    components: dict[str, Component]
    report: Report
    #: Giving up after more than `max_crashes` crashes of one component within `window` s.
    max_crashes: int = 5
    window: float = 60.0
    first_delay: float = 0.5
    max_delay: float = 10.0
    on_restart: Callable[[Component], None] = lambda component: None

    def check(self) -> None:
        """Notice crashes and start what is due; raises GaveUp on a crash loop."""
        now = time.monotonic()
        for component in self.components.values():
            if component.due is None and (code := component.child.poll()) is not None:
                self._crashed(component, code, now)
        for component in self.components.values():
            if component.due is not None and now >= component.due:
                self._restart(component)

    def run(self, interval: float = 0.1) -> None:
        """Supervise until interrupted (KeyboardInterrupt) or a component is given up on."""
        while True:
            self.check()
            time.sleep(interval)

    def _crashed(self, component: Component, code: int, now: float) -> None:
        crashes = component.crashes
        crashes.append(now)
        while crashes and crashes[0] < now - self.window:
            crashes.popleft()
        if len(crashes) > self.max_crashes:
            raise GaveUp(
                f"{component.name} exited {len(crashes)} times within {self.window:.0f} s "
                f"(last exit code {code}); giving up. Last lines of {component.child.log_path}:\n"
                + last_lines(component.child.log_path)
            )
        delay = self._delay(len(crashes))
        component.due = now + delay
        self.report(f"{component.name} exited with code {code}; restarting in {delay:.1f} s")

    def _delay(self, crashes: int) -> float:
        """At once after a first crash (in the window), then doubling from `first_delay`."""
        if crashes <= 1:
            return 0.0
        return float(min(self.max_delay, self.first_delay * 2 ** (crashes - 2)))

    def _restart(self, component: Component) -> None:
        component.due = None
        try:
            component.child.start()
        except Exception as error:  # a failed start is one more crash, with its delay
            self.report(f"{component.name} did not start: {error}")
            component.child.kill()
            self._crashed(component, -1, time.monotonic())
            return
        component.restarts += 1
        self.report(f"{component.name} restarted")
        self.on_restart(component)
        for name in component.restart_with:
            dependent = self.components[name]
            dependent.child.kill()
            dependent.due = None
            self._restart(dependent)
