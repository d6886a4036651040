"""bench/realtime: open sockets on `storefront up`, then orders: how soon each socket hears.

    .venv/bin/python bench/realtime [--sockets 1000] [--orders 30]

Runs the embedded stack as a user does, opens `--sockets` sockets on /api/ws as the demo
super admin (staff see every new order), places `--orders` orders one after another, and
prints the time from each order's 201 to its order.created on every socket (p50/p99), and
the API process's memory per open socket. Goal (issue 16): p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

sys.path.append(str(Path(__file__).parent.parent))  # bench/common.py
from common import machine, percentiles

from storefront.launched import LaunchedStack

ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Socket Street",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


async def listen(socket: ClientConnection, heard: dict[str, list[float]]) -> None:
    async for raw in socket:
        message = json.loads(raw)
        if message.get("type") == "order.created":
            heard.setdefault(message["data"]["order_id"], []).append(time.perf_counter())


async def run(stack: LaunchedStack, sockets: int, orders: int) -> None:
    token = stack.token()
    admin = {"Authorization": f"Bearer {token}"}
    api = psutil.Process(stack.pid("api"))
    before = api.memory_info().rss
    url = stack.api_url.replace("http://", "ws://") + "/api/ws"
    opened = []
    for _ in range(sockets):
        socket = await connect(url, subprotocols=[Subprotocol("bearer"), Subprotocol(token)])
        assert json.loads(await socket.recv())["type"] == "ready"
        opened.append(socket)
    per_socket = (api.memory_info().rss - before) / sockets
    print(f"{sockets} sockets open; API memory +{per_socket / 1024:.1f} KiB per socket")
    heard: dict[str, list[float]] = {}
    listeners = [asyncio.create_task(listen(s, heard)) for s in opened]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        sku = f"RT-{uuid.uuid4().hex[:8]}"
        body = {
            "sku": sku,
            "name": "Socket Tee",
            "brand": "Acme",
            "price": "10.00",
            "category": "shirts",
        }
        created = await http.post("/api/admin/products", json=body, headers=admin)
        assert created.is_success, created.text
        product_id = created.json()["id"]
        change = {"warehouse": "berlin", "quantity": 1_000_000, "reason": "bench"}
        await http.patch(f"/api/admin/inventory/{sku}/stock", json=change, headers=admin)
        placed: dict[str, float] = {}
        for _ in range(orders):
            body = {
                "email": f"rt{uuid.uuid4().hex[:10]}@example.com",
                "password": "socket-bench-2026!",
                "first_name": "Rita",
                "last_name": "Time",
            }
            shopper = (await http.post("/api/auth/register", json=body)).json()["access_token"]
            who = {"Authorization": f"Bearer {shopper}"}
            await http.post("/api/cart/items", json={"product_id": product_id}, headers=who)
            response = await http.post(
                "/api/orders",
                json={"shipping_address": ADDRESS},
                headers={**who, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.status_code == 201, response.text
            placed[response.json()["id"]] = time.perf_counter()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            len(heard.get(order, [])) < sockets for order in placed
        ):
            await asyncio.sleep(0.1)
    samples = [(t - placed[o]) * 1000 for o, times in heard.items() if o in placed for t in times]
    print(f"order 201 -> order.created on every socket: {percentiles(samples)}")
    # Where it goes: the pipeline (to the first socket) and the fan-out (first to last).
    first = [(min(t) - placed[o]) * 1000 for o, t in heard.items() if o in placed]
    spread = [(max(t) - min(t)) * 1000 for o, t in heard.items() if o in placed]
    print(f"  to the first socket: {percentiles(first)}")
    print(f"  first to last socket: {percentiles(spread)}")
    missing = sum(sockets - len(heard.get(o, [])) for o in placed)
    print(f"deliveries missing after 60 s: {missing} of {sockets * orders}")
    for task in listeners:
        task.cancel()
    for socket in opened:
        await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        # One admin opens every socket and one address places every (unpaid) order: lift
        # the per-person connect limit and the per-address cap for the bench.
        limits = {
            "STOREFRONT_SOCKET_CONNECTS_PER_MINUTE": "10000",
            "STOREFRONT_UNPAID_ORDERS_PER_ADDRESS": "1000",
        }
        stack = LaunchedStack(Path(folder) / "data", demo_products=0, settings=limits)
        try:
            stack.start(timeout=600)
            asyncio.run(run(stack, args.sockets, args.orders))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
