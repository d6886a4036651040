"""Administrators act only within their own permissions, and the shop always keeps someone
who may manage roles."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from commerce.identity.permissions import Permission
from tests.api.conftest import api_on_database
from tests.api.test_roles import new_user, user_id
from tests.conftest import sign_in

pytestmark = pytest.mark.usefixtures("reference")


async def test_an_admin_cannot_disable_a_super_admin_but_can_disable_staff(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    boss = await sign_in(client, await new_user(sessions, role="SUPER_ADMIN"))
    clerk = await sign_in(client, await new_user(sessions, role="STAFF"))
    admin = accounts["ADMIN"]

    refused = await client.patch(
        f"/api/users/{await user_id(client, boss)}", json={"active": False}, headers=admin
    )
    assert refused.status_code == 403, refused.text
    assert "MANAGE_ROLES" in refused.json()["missing"]
    assert (await client.get("/api/auth/me", headers=boss)).status_code == 200, "still signed in"

    allowed = await client.patch(
        f"/api/users/{await user_id(client, clerk)}", json={"active": False}, headers=admin
    )
    assert allowed.status_code == 200, allowed.text


@pytest.fixture
async def empty_shop(
    settings: Settings, fresh_database: str
) -> AsyncIterator[tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]]]:
    """The API on a database of its own: no other role managers than the test makes."""
    async with api_on_database(settings, fresh_database) as shop:
        yield shop


async def test_two_super_admins_disabling_each_other_leave_one(
    empty_shop: tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]],
) -> None:
    client, sessions = empty_shop
    ada = await sign_in(client, await new_user(sessions, "SUPER_ADMIN"))
    bob = await sign_in(client, await new_user(sessions, "SUPER_ADMIN"))
    ada_id, bob_id = await user_id(client, ada), await user_id(client, bob)

    answers = await asyncio.gather(
        client.patch(f"/api/users/{bob_id}", json={"active": False}, headers=ada),
        client.patch(f"/api/users/{ada_id}", json={"active": False}, headers=bob),
    )

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses[200] == 1, [a.text for a in answers]
    assert set(statuses) <= {200, 401, 409}, "the other is refused, or already signed out"
    listed = (await client.get("/api/users", headers=ada if answers[0].is_success else bob)).json()
    assert sum(u["active"] and u["role"] == "SUPER_ADMIN" for u in listed["items"]) == 1


async def test_the_last_role_managers_role_keeps_manage_roles(
    empty_shop: tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]],
) -> None:
    client, sessions = empty_shop
    maker = await sign_in(client, await new_user(sessions, "SUPER_ADMIN"))
    everything = sorted(Permission)
    created = await client.post(
        "/api/roles", json={"name": "OWNER", "permissions": everything}, headers=maker
    )
    assert created.status_code == 201, created.text
    owner_email = await new_user(sessions, "CUSTOMER")
    owner_id = await user_id(client, await sign_in(client, owner_email))
    assigned = await client.put(
        f"/api/users/{owner_id}/role", json={"role": "OWNER"}, headers=maker
    )
    assert assigned.status_code == 200, assigned.text
    owner = await sign_in(client, owner_email)
    maker_id = await user_id(client, maker)
    demoted = await client.put(
        f"/api/users/{maker_id}/role", json={"role": "CUSTOMER"}, headers=owner
    )
    assert demoted.status_code == 200, "an owner with every permission may act on a super admin"

    fewer = [p for p in everything if p != Permission.MANAGE_ROLES]
    refused = await client.patch("/api/roles/OWNER", json={"permissions": fewer}, headers=owner)

    assert refused.status_code == 409, refused.text
    assert "MANAGE_ROLES" in refused.json()["detail"]


async def test_nobody_hands_out_a_role_with_more_than_they_hold(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    root = accounts["SUPER_ADMIN"]
    name = f"GATE_{uuid.uuid4().hex[:8].upper()}"
    grants = ["MANAGE_ROLES", "MANAGE_USERS"]
    created = await client.post(
        "/api/roles", json={"name": name, "permissions": grants}, headers=root
    )
    assert created.status_code == 201, created.text
    keeper_email = await new_user(sessions, role=name)
    keeper = await sign_in(client, keeper_email)
    somebody = await user_id(client, await sign_in(client, await new_user(sessions)))

    raised = await client.put(
        f"/api/users/{somebody}/role", json={"role": "SUPER_ADMIN"}, headers=keeper
    )

    assert raised.status_code == 403, raised.text
