"""Pushes over `/api/ws` from a real API server, with the real worker: each customer sees
their own orders change in order, staff see new orders and low stock, a reconnect replays
what was missed, and an expired token or ended session closes the socket."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from api.app import create_app
from bootstrap.settings import Settings
from commerce.identity.tokens import AccessClaims, TokenIssuer
from commerce.notifications.channel import PushChannel
from commerce.notifications.pushes import Push
from tests.api.test_cart import tee
from tests.api.test_orders import bought
from tests.conftest import PASSWORD, eventually, sign_in
from tests.factories import set_stock
from tests.served import served

pytestmark = pytest.mark.usefixtures("reference", "worker")
DEADLINE = 30.0
Message = dict[str, Any]


@pytest.fixture(scope="module")
def sockets(settings: Settings) -> Iterator[str]:
    """A second API process, served over real HTTP (the test client's cannot upgrade)."""
    quick = settings.model_copy(update={"socket_check_seconds": 0.2})
    with served(create_app(quick), "the push socket API") as url:
        yield url.replace("http://", "ws://") + "/api/ws"


async def customer(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"ws{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "first_name": "Wes", "last_name": "Socket"}
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def pushes(
    url: str, token: str, *, last_event_id: str | None = None, in_hello: bool = False
) -> AsyncIterator[tuple[ClientConnection, list[Message]]]:
    """A socket once it is live, and what it received before `ready` (the replay)."""
    if in_hello:
        socket = await connect(url, open_timeout=DEADLINE)
        await socket.send(json.dumps({"token": token, "last_event_id": last_event_id}))
    else:
        query = f"?last_event_id={last_event_id}" if last_event_id else ""
        protocols = [Subprotocol("bearer"), Subprotocol(token)]
        socket = await connect(url + query, subprotocols=protocols, open_timeout=DEADLINE)
    async with socket:
        replayed = await until(socket, lambda m: m["type"] == "ready")
        yield socket, replayed[:-1]


async def until(socket: ClientConnection, done: Callable[[Message], bool]) -> list[Message]:
    """Every message up to and including the first that is `done`."""
    seen: list[Message] = []
    async with asyncio.timeout(DEADLINE):
        while True:
            seen.append(json.loads(await socket.recv(decode=True)))
            if done(seen[-1]):
                return seen


def orders_only(messages: list[Message]) -> list[Message]:
    return [m for m in messages if not m["type"].startswith(("achievement.", "quest."))]


def about(order_id: str) -> Callable[[Message], bool]:
    return lambda m: m.get("data", {}).get("order_id") == order_id


async def test_each_customer_sees_only_their_own_order_change_in_order_and_staff_see_it_new(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    accounts: dict[str, dict[str, str]],
    sockets: str,
) -> None:
    ann, bob = await customer(client), await customer(client)
    product = await tee(client, admin, stock=20)
    async with (
        pushes(sockets, token_of(ann)) as (ann_socket, _),
        pushes(sockets, token_of(bob)) as (bob_socket, _),
        pushes(sockets, token_of(accounts["STAFF"])) as (staff_socket, _),
    ):
        anns = await bought(client, ann, product, 1, payment_method="tok_visa")
        bobs = await bought(client, bob, product, 1, payment_method="tok_visa")

        # Their first order also unlocks an achievement, pushed once the rewards step ran:
        # not an order change, so left out here (its own test is below).
        seen = orders_only(
            await until(
                ann_socket, lambda m: about(anns["id"])(m) and m["type"] == "order.confirmed"
            )
        )
        assert [m["type"] for m in seen] == [
            "order.created",
            "payment.succeeded",
            "order.confirmed",
        ]
        assert all(about(anns["id"])(m) for m in seen), "nothing of Bob's"
        ids = [m["id"] for m in seen]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))

        bob_seen = orders_only(await until(bob_socket, lambda m: m["type"] == "order.confirmed"))
        assert all(about(bobs["id"])(m) for m in bob_seen), "nothing of Ann's"

        waiting = {anns["id"], bobs["id"]}

        def both_new(message: Message) -> bool:
            if message["type"] == "order.created":
                waiting.discard(message["data"]["order_id"])
            return not waiting

        staff_seen = await until(staff_socket, both_new)
        assert {m["type"] for m in staff_seen} <= {
            "order.created",
            "stock.low",
            "dead_letter.recorded",
        }


async def test_a_reconnect_with_the_last_id_replays_what_was_missed_in_order(
    client: httpx.AsyncClient, admin: dict[str, str], sockets: str
) -> None:
    ann = await customer(client)
    product = await tee(client, admin, stock=20)
    async with pushes(sockets, token_of(ann)) as (witness, _):
        async with pushes(sockets, token_of(ann)) as (socket, _):
            order = await bought(client, ann, product, 1, payment_method="tok_visa")
            created = (await until(socket, lambda m: m["type"] == "order.created"))[-1]
        # The first socket is gone; the order goes on (the other tab sees it through).
        await until(witness, lambda m: m["type"] == "order.confirmed")

    async with pushes(sockets, token_of(ann), last_event_id=created["id"], in_hello=True) as (
        _,
        missed,
    ):
        mine = [m["type"] for m in missed if about(order["id"])(m)]
        assert mine == ["payment.succeeded", "order.confirmed"]


async def test_staff_are_alerted_once_each_time_a_sku_falls_below_its_line(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    accounts: dict[str, dict[str, str]],
    sockets: str,
) -> None:
    product = await tee(client, admin, stock=50)
    sku = product["variants"][0]["sku"]
    line = f"/api/admin/inventory/{sku}/low-stock-threshold"
    assert (await client.get(line, headers=admin)).json() == {
        "sku": sku,
        "threshold": 10,
        "own": False,
    }
    assert (await client.put(line, json={"threshold": 3}, headers=admin)).json()["own"]
    async with pushes(sockets, token_of(accounts["STAFF"])) as (socket, _):
        for units in (5, 2, 1, 10, 2):
            await set_stock(client, admin, sku, units)
        alerts: list[Message] = []
        while len(alerts) < 2:
            message = (await until(socket, lambda m: m["type"] == "stock.low"))[-1]
            if message["data"]["sku"] == sku:
                alerts.append(message)
    assert [a["data"]["available"] for a in alerts] == [2, 2], "1 is no new crossing"
    assert alerts[0]["data"]["threshold"] == 3
    reset = await client.delete(line, headers=admin)
    assert reset.json() == {"sku": sku, "threshold": 10, "own": False}
    missing = await client.put(
        "/api/admin/inventory/NO-SUCH-SKU/low-stock-threshold", json={"threshold": 1}, headers=admin
    )
    assert missing.status_code == 404


async def test_an_ended_session_or_expired_token_closes_the_socket(
    client: httpx.AsyncClient, settings: Settings, sockets: str
) -> None:
    ann = await customer(client)
    async with pushes(sockets, token_of(ann)) as (socket, _):
        assert (await client.post("/api/auth/logout", headers=ann)).status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await until(socket, lambda m: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002

    bob = await customer(client)
    claims = TokenIssuer(settings.signing_key(), timedelta(days=1), timedelta(days=1)).read(
        token_of(bob)
    )
    brief = TokenIssuer(settings.signing_key(), timedelta(seconds=2), timedelta(days=1))
    short = brief.access_token(AccessClaims(claims.user_id, claims.session_id, claims.role, 0))
    async with pushes(sockets, short) as (socket, _):
        with pytest.raises(ConnectionClosed) as closed:
            await until(socket, lambda m: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


@pytest.mark.parametrize(
    ("hello", "code"),
    [
        ({"token": "not-a-token"}, 4401),
        ({"token": "x", "last_event_id": "yesterday"}, 4400),
        ({"tokn": "typo"}, 4400),
    ],
)
async def test_a_bad_hello_is_closed_with_a_clear_code(
    sockets: str, hello: dict[str, str], code: int
) -> None:
    async with connect(sockets, open_timeout=DEADLINE) as socket:
        await socket.send(json.dumps(hello))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_an_unlocked_achievement_is_pushed_to_its_customer_only(
    client: httpx.AsyncClient, admin: dict[str, str], sockets: str
) -> None:
    ann, bob = await customer(client), await customer(client)
    product = await tee(client, admin, stock=20)
    async with (
        pushes(sockets, token_of(ann)) as (ann_socket, _),
        pushes(sockets, token_of(bob)) as (bob_socket, _),
    ):
        await bought(client, ann, product, 1, payment_method="tok_visa")

        unlocked = (await until(ann_socket, lambda m: m["type"] == "achievement.unlocked"))[-1]
        assert (unlocked["data"]["code"], unlocked["data"]["title"]) == (
            "first_order",
            "First order",
        )
        bobs = await bought(client, bob, product, 1, payment_method="tok_visa")
        bob_seen = await until(bob_socket, lambda m: m["type"] == "achievement.unlocked")
        assert all(m["data"].get("order_id") in (None, bobs["id"]) for m in bob_seen)
        assert all(
            m["data"].get("customer_id") in (None, bob_seen[-1]["data"]["customer_id"])
            for m in bob_seen
        )


@pytest.fixture(scope="module")
def strict_sockets(settings: Settings) -> Iterator[str]:
    """An API whose sockets replay at most 5 pushes and connect 3 times a minute a person."""
    strict = settings.model_copy(
        update={
            "socket_check_seconds": 0.2,
            "socket_replay_max": 5,
            "socket_connects_per_minute": 3,
        }
    )
    with served(create_app(strict), "the strict push socket API") as url:
        yield url.replace("http://", "ws://") + "/api/ws"


def note(customer_id: str | None, n: int, *, staff: bool = False) -> Push:
    who = uuid.UUID(customer_id) if customer_id else None
    return Push(type="order.created", data={"n": n}, customer_id=who, staff=staff)


async def test_a_replay_from_the_beginning_sends_only_the_newest_few(
    client: httpx.AsyncClient, redis: Redis, settings: Settings, strict_sockets: str
) -> None:
    ann = await customer(client)
    ann_id = str((await client.get("/api/auth/me", headers=ann)).json()["id"])
    channel = PushChannel(redis, settings.pushes_kept)
    ids = await channel.publish([note(ann_id, n) for n in range(12)])

    async with pushes(strict_sockets, token_of(ann), last_event_id="0-0") as (_, replayed):
        assert replayed[0] == {"type": "replay_incomplete"}
        assert [m["id"] for m in replayed[1:]] == ids[-5:]


async def test_one_person_may_connect_only_so_often_a_minute(
    client: httpx.AsyncClient, strict_sockets: str
) -> None:
    ann = await customer(client)
    for _ in range(3):
        async with pushes(strict_sockets, token_of(ann)):
            pass
    socket = await connect(strict_sockets, open_timeout=DEADLINE)
    async with socket:
        await socket.send(json.dumps({"token": token_of(ann)}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    assert "retry in" in closed.value.rcvd.reason


async def test_staff_pushes_stop_when_the_role_loses_the_dashboard(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    redis: Redis,
    settings: Settings,
    sockets: str,
) -> None:
    root = accounts["SUPER_ADMIN"]
    role = f"WATCH_{uuid.uuid4().hex[:8].upper()}"
    created = await client.post(
        "/api/roles", json={"name": role, "permissions": ["VIEW_DASHBOARD"]}, headers=root
    )
    assert created.status_code == 201, created.text
    watcher = await customer(client)
    me = (await client.get("/api/auth/me", headers=watcher)).json()
    watcher_id = str(me["id"])
    assigned = await client.put(f"/api/users/{watcher_id}/role", json={"role": role}, headers=root)
    assert assigned.status_code == 200, assigned.text
    watcher = await sign_in(client, me["email"])  # an assignment ends the old sessions
    channel = PushChannel(redis, settings.pushes_kept)

    async def staff_push_seen(socket: ClientConnection, n: int) -> bool:
        """Publish a staff push, then a marker of the watcher's own: was the first seen?"""
        await channel.publish([note(None, n, staff=True), note(watcher_id, n)])
        seen = await until(socket, lambda m: m["data"] == {"n": n} and m["customer_id"])
        return any(m["data"] == {"n": n} and not m["customer_id"] for m in seen)

    async with pushes(sockets, token_of(watcher)) as (socket, _):
        assert await staff_push_seen(socket, 1)
        revoked = await client.patch(f"/api/roles/{role}", json={"permissions": []}, headers=root)
        assert revoked.status_code == 200, revoked.text
        attempts = itertools.count(2)
        # Within a session check (0.2 s here), not when the token runs out (15 minutes).
        await eventually(
            lambda: staff_push_seen(socket, next(attempts)),
            lambda seen: not seen,
            timeout=DEADLINE,
            interval=0.1,
        )
