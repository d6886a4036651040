"""The pushes of one API process: one Redis subscription, fanned out to its open sockets,
each getting only what its signed-in person may see."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from commerce.notifications.channel import PushChannel
from commerce.notifications.pushes import Push

log = logging.getLogger(__name__)
#: Pushes waiting for one socket; a client that falls this far behind is closed and
#: reconnects with its last event id (nothing is lost, memory stays bounded).
QUEUED_PER_SOCKET = 1000
RESUBSCRIBE_SECONDS = 1.0


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    staff: bool

    def sees(self, push: Push) -> bool:
        return push.customer_id == self.user_id or (push.staff and self.staff)


@dataclass(eq=False)
class Listener:
    viewer: Viewer
    #: Each push with its text, encoded once for every socket that gets it; None wakes the
    #: socket's loop for something else (its client went away).
    queue: asyncio.Queue[tuple[Push, str] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUED_PER_SOCKET)
    )
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, push: Push, text: str) -> None:
        if not self.viewer.sees(push):
            return
        try:
            self.queue.put_nowait((push, text))
        except asyncio.QueueFull:
            self.overflowed.set()

    def wake(self) -> None:
        # A full queue needs no waking: its reader does not wait.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class PushHub:
    def __init__(self, channel: PushChannel) -> None:
        self.channel = channel
        self.listeners: set[Listener] = set()
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        """Follow the live pushes for as long as the process runs (resubscribing after a
        Redis outage; sockets that missed pushes meanwhile catch up when they reconnect)."""
        while True:
            try:
                async for push in self.channel.live(on_subscribed=self.subscribed.set):
                    text = push.for_client()
                    for listener in list(self.listeners):
                        listener.offer(push, text)
            except (ConnectionError, OSError):
                log.warning("push subscription lost; subscribing again", exc_info=True)
            self.subscribed.clear()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    @contextmanager
    def listening(self, viewer: Viewer) -> Iterator[Listener]:
        listener = Listener(viewer)
        self.listeners.add(listener)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)
