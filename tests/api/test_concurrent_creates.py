"""Simultaneous creates of one email, SKU or role name: one wins, the others get 409, no 500.

The services check before they insert; requests racing between the check and the insert
used to hit the unique constraint unmapped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("reference")


async def race(request: Callable[[], Awaitable[httpx.Response]], times: int = 10) -> Counter[int]:
    responses = await asyncio.gather(*(request() for _ in range(times)))
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
    return Counter(r.status_code for r in responses)


async def test_simultaneous_registrations_of_one_email(client: httpx.AsyncClient) -> None:
    body = {
        "email": f"race-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "first_name": "Ray",
        "last_name": "Ce",
    }
    statuses = await race(lambda: client.post("/api/auth/register", json=body))
    assert statuses == Counter({201: 1, 409: 9})


async def test_simultaneous_creates_of_one_sku(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "sku": f"RACE-{uuid.uuid4().hex[:10]}",
        "name": "Race Lamp",
        "brand": "Acme",
        "category": "lighting",
        "price": "5.00",
    }
    statuses = await race(lambda: client.post("/api/admin/products", json=body, headers=admin))
    assert statuses == Counter({201: 1, 409: 9})


async def test_simultaneous_creates_of_one_role(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    body = {"name": f"RACE_{uuid.uuid4().hex[:8].upper()}", "permissions": []}
    root = accounts["SUPER_ADMIN"]
    statuses = await race(lambda: client.post("/api/roles", json=body, headers=root))
    assert statuses == Counter({201: 1, 409: 9})
