"""`/api/ws`: a signed-in person's pushes as they happen.

Authenticate with the access token as a subprotocol (`Sec-WebSocket-Protocol: bearer,
<token>`; the server answers `bearer`) or in the first message (`{"token": "…"}`), never in
the URL. Say the last push id seen (`last_event_id` in that message or the query string) to
get what was missed first, in order. The server sends `{"type": "ready"}` once live.

Close codes: 4400 a malformed hello, 4401 not signed in, 4001 the token expired (refresh and
reconnect with the last id), 4002 the session ended (sign in again), 4008 the client fell
too far behind (reconnect with the last id), 4429 too many connects by this person in a
minute (the reason says when to retry).

A replay gives at most `SOCKET_REPLAY_MAX` pushes (the newest, after `replay_incomplete`).
Staff pushes follow the role's permissions as they change (checked with the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.sockets import Listener, PushHub, Viewer
from commerce.identity.context import IdentityContext
from commerce.identity.errors import Unauthenticated
from commerce.identity.permissions import Permission
from commerce.identity.sessions import authenticate, role_permissions
from commerce.notifications.channel import stream_position
from commerce.rate_limits import RateLimiter, Tier

BAD_HELLO, UNAUTHENTICATED, EXPIRED, ENDED, TOO_SLOW = 4400, 4401, 4001, 4002, 4008
TOO_MANY_CONNECTS = 4429
HELLO_SECONDS = 10.0
PROTOCOL = "bearer"


class Hello(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str | None = None
    #: A push id (`1700000000000-3`): what came after it is sent first.
    last_event_id: Annotated[str | None, Field(pattern=r"^\d{1,20}-\d{1,20}$")] = None


@dataclass
class Connection:
    websocket: WebSocket
    listener: Listener
    user_id: str
    session_id: str
    role: str
    expires_at: datetime | None
    #: Pushes at or before this were sent by the replay.
    replayed_to: tuple[int, int] = (0, 0)
    #: When the session was last found open (monotonic seconds).
    checked_at: float = 0.0


async def push_socket(websocket: WebSocket) -> None:
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",")]
    by_protocol = len(offered) == 2 and offered[0] == PROTOCOL
    await websocket.accept(subprotocol=PROTOCOL if by_protocol else None)
    try:
        hello = await _hello(websocket, offered[1] if by_protocol else None)
    except (ValueError, TimeoutError, KeyError):  # KeyError: a binary frame, not text
        await websocket.close(BAD_HELLO, 'Say hello: {"token": …, "last_event_id": …}.')
        return
    except WebSocketDisconnect:
        return
    ctx: IdentityContext = websocket.app.state.identity
    try:
        claims = ctx.tokens.read(hello.token or "")
        async with websocket.app.state.sessions() as session:
            principal = await authenticate(session, ctx, hello.token or "")
    except Unauthenticated as error:
        await websocket.close(UNAUTHENTICATED, str(error))
        return
    if retry_after := await _connects_left(websocket, principal.user_id):
        await websocket.close(TOO_MANY_CONNECTS, f"Too many connects; retry in {retry_after} s.")
        return
    hub: PushHub = websocket.app.state.push_hub
    with hub.listening(_viewer(principal.user_id, principal.permissions)) as listener:
        connection = Connection(
            websocket,
            listener,
            str(principal.user_id),
            principal.session_id,
            principal.role,
            claims.expires_at,
        )
        try:
            await _replay(connection, hub, hello.last_event_id)
            await websocket.send_json({"type": "ready"})
            await _serve(connection, ctx)
        except WebSocketDisconnect:
            return


def _viewer(user_id: uuid.UUID, permissions: frozenset[str]) -> Viewer:
    return Viewer(user_id, Permission.VIEW_DASHBOARD in permissions)


async def _connects_left(websocket: WebSocket, user_id: uuid.UUID) -> int:
    """0 while this person may connect again this minute, else the seconds to wait."""
    per_minute = websocket.app.state.settings.socket_connects_per_minute
    limiter = RateLimiter(websocket.app.state.redis)
    return await limiter.take([Tier(f"socket-connects:{user_id}", per_minute)], 60)


async def _hello(websocket: WebSocket, token: str | None) -> Hello:
    """The token from the subprotocol, or the first message (with the last id seen)."""
    last = websocket.query_params.get("last_event_id")
    if token is None:
        said = Hello.model_validate_json(
            await asyncio.wait_for(websocket.receive_text(), HELLO_SECONDS)
        )
        token, last = said.token, said.last_event_id or last
    return Hello(token=token, last_event_id=last)


async def _replay(connection: Connection, hub: PushHub, last_event_id: str | None) -> None:
    """What came after `last_event_id`, oldest first (the live ones queue meanwhile)."""
    if last_event_id is None:
        return
    # Subscribed first, so nothing falls between the replay and the live pushes.
    await asyncio.wait_for(hub.subscribed.wait(), HELLO_SECONDS)
    limit = connection.websocket.app.state.settings.socket_replay_max
    missed, complete = await hub.channel.since(last_event_id, limit)
    if not complete:
        await connection.websocket.send_json({"type": "replay_incomplete"})
    for push in missed:
        if connection.listener.viewer.sees(push):
            await connection.websocket.send_text(push.for_client())
    connection.replayed_to = stream_position(missed[-1].id) if missed else (0, 0)


async def _serve(connection: Connection, ctx: IdentityContext) -> None:
    websocket, listener = connection.websocket, connection.listener
    settings = websocket.app.state.settings
    closed = asyncio.create_task(_until_closed(websocket))
    # Woken through its queue, not by racing a task per push against `closed`: with 1,000
    # sockets that race (a task, a wait and a timer per push per socket) was most of the
    # fan-out's CPU (bench/realtime).
    closed.add_done_callback(lambda _: listener.wake())
    try:
        while True:
            queued = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_next_check(connection, settings.socket_check_seconds)):
                    queued = await listener.queue.get()
            if closed.done():
                return
            if queued is not None and stream_position(queued[0].id) > connection.replayed_to:
                await websocket.send_text(queued[1])
            if reason := await _why_close(connection, ctx):
                await websocket.close(*reason)
                return
    finally:
        closed.cancel()


def _next_check(connection: Connection, every: float) -> float:
    if connection.expires_at is None:
        return every
    left = (connection.expires_at - datetime.now(UTC)).total_seconds()
    return max(0.0, min(every, left))


async def _why_close(connection: Connection, ctx: IdentityContext) -> tuple[int, str] | None:
    if connection.listener.overflowed.is_set():
        return TOO_SLOW, "Too far behind; reconnect with your last event id."
    if connection.expires_at is not None and datetime.now(UTC) >= connection.expires_at:
        return EXPIRED, "The access token expired; refresh it and reconnect."
    every = connection.websocket.app.state.settings.socket_check_seconds
    if time.monotonic() - connection.checked_at >= every:
        connection.checked_at = time.monotonic()
        if not await ctx.sessions.is_open(connection.session_id, connection.user_id):
            return ENDED, "The session has ended; sign in again."
        try:
            async with connection.websocket.app.state.sessions() as session:
                permissions = await role_permissions(session, ctx, connection.role)
        except Unauthenticated as gone:
            return ENDED, str(gone)
        # A role that lost VIEW_DASHBOARD stops staff pushes here, not when the token ends.
        listener = connection.listener
        listener.viewer = _viewer(listener.viewer.user_id, permissions)
    return None


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it goes away."""
    try:
        while True:
            await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError):
        return


route = WebSocketRoute("/api/ws", push_socket)
