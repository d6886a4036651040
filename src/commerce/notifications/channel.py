"""Pushes through Redis: a bounded stream keeps the recent ones in order (for clients that
reconnect), and pub/sub carries each to every API process at once (for open sockets)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import cast

from redis.asyncio import Redis

from commerce.notifications.pushes import Push

NAME = "pushes"
#: Appended and announced in one step, so the live copy carries its place in the stream.
PUBLISH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'push', ARGV[2])
redis.call('PUBLISH', KEYS[2], id .. ' ' .. ARGV[2])
return id
"""


Entries = list[tuple[bytes, dict[bytes, bytes]]]


def stream_position(push_id: str) -> tuple[int, int]:
    """A stream id (`1700000000000-3`) as a comparable pair; ValueError if it is not one."""
    millis, _, sequence = push_id.partition("-")
    return int(millis), int(sequence or 0)


class PushChannel:
    def __init__(self, redis: Redis, kept: int = 10_000, name: str = NAME) -> None:
        self.redis = redis
        self.kept = kept
        #: The stream (kept pushes) and the pub/sub channel (live ones).
        self.stream, self.channel = f"{name}:stream", f"{name}:live"
        self._publish = redis.register_script(PUBLISH)

    async def publish(self, pushes: Sequence[Push]) -> list[str]:
        """Each push in order, in one round trip; their stream ids."""
        if not pushes:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for push in pushes:
                body = push.model_dump_json(exclude={"id"})
                await self._publish(
                    keys=[self.stream, self.channel], args=[self.kept, body], client=pipe
                )
            found = await pipe.execute()
        return [each.decode() if isinstance(each, bytes) else str(each) for each in found]

    async def since(self, last_id: str, limit: int = 1_000) -> tuple[list[Push], bool]:
        """The pushes after `last_id`, oldest first, and whether they are all there (False:
        some were trimmed, or more than `limit` came since and only the newest `limit` are
        given; the client should reload what it shows). `limit` bounds what one reconnect
        costs: the stream holds every person's pushes, read and decoded to be filtered."""
        entries = cast(
            Entries, await self.redis.xrange(self.stream, min=f"({last_id}", count=limit + 1)
        )
        complete = True
        if len(entries) > limit:
            newest = cast(
                Entries,
                await self.redis.xrevrange(self.stream, min=f"({last_id}", count=limit),
            )
            entries, complete = newest[::-1], False
        else:
            first = cast(Entries, await self.redis.xrange(self.stream, count=1))
            complete = not first or stream_position(_text(first[0][0])) <= stream_position(last_id)
        return [_push(_text(i), fields[b"push"]) for i, fields in entries], complete

    async def live(self, on_subscribed: Callable[[], None] = lambda: None) -> AsyncIterator[Push]:
        """Every push published from now on (one subscription; the caller fans out)."""
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            on_subscribed()
            async for message in pubsub.listen():
                if message["type"] != "message":
                    continue
                push_id, _, body = _text(message["data"]).partition(" ")
                yield _push(push_id, body)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _push(push_id: str, body: bytes | str) -> Push:
    return Push.model_validate({**json.loads(body), "id": push_id})
