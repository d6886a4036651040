"""Dynamic roles: SUPER_ADMIN manages them; changes and assignments apply at once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.identity.models import Role
from commerce.identity.permissions import SYSTEM_ROLES
from commerce.identity.service import create_user
from storefront.processes import WorkerProcess
from tests.conftest import PASSWORD, eventually, sign_in
from tests.factories import create_product, set_stock

pytestmark = pytest.mark.usefixtures("reference")


def role_name() -> str:
    return f"CLERK_{uuid.uuid4().hex[:8].upper()}"


async def new_user(sessions: async_sessionmaker[AsyncSession], role: str = "CUSTOMER") -> str:
    email = f"r{uuid.uuid4().hex[:10]}@example.com"
    async with transaction(sessions) as session:
        await create_user(session, email, PASSWORD, role=role)
    return email


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/auth/me", headers=headers)).json()["id"])


async def test_migration_seeds_the_system_roles(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        roles = {r.name: r for r in await session.scalars(select(Role).where(Role.system))}
    assert {name: frozenset(r.permissions) for name, r in roles.items()} == SYSTEM_ROLES


async def test_revoked_permission_stops_working(
    worker: WorkerProcess,
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
) -> None:
    root = accounts["SUPER_ADMIN"]
    name = role_name()
    created = await client.post(
        "/api/roles", json={"name": name, "permissions": ["MANAGE_INVENTORY"]}, headers=root
    )
    assert created.status_code == 201, created.text
    email = await new_user(sessions)
    customer = await sign_in(client, email)
    assigned = await client.put(
        f"/api/users/{await user_id(client, customer)}/role", json={"role": name}, headers=root
    )
    assert assigned.json()["permissions"] == ["MANAGE_INVENTORY"]
    clerk = await sign_in(client, email)
    product = await create_product(client, admin)
    await set_stock(client, clerk, product["sku"], 5)

    revoked = await client.patch(f"/api/roles/{name}", json={"permissions": []}, headers=root)
    assert revoked.status_code == 200 and revoked.json()["version"] == 2

    async def stock_change() -> int:
        response = await client.patch(
            f"/api/admin/inventory/{product['sku']}/stock",
            json={"warehouse": "berlin", "quantity": 6, "reason": "count"},
            headers=clerk,
        )
        return response.status_code

    # Within about a second (the worker caches the new version); how fast is bench/auth's job.
    await eventually(stock_change, lambda status: status == 403, timeout=30)


async def test_assigning_a_role_ends_the_users_sessions(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    email = await new_user(sessions)
    before = await sign_in(client, email)
    response = await client.put(
        f"/api/users/{await user_id(client, before)}/role",
        json={"role": "STAFF"},
        headers=accounts["SUPER_ADMIN"],
    )
    assert response.status_code == 200
    assert (await client.get("/api/auth/me", headers=before)).status_code == 401
    after = await sign_in(client, email)
    assert (await client.get("/api/auth/me", headers=after)).json()["role"] == "STAFF"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("DELETE", "/api/roles/CUSTOMER", None, 409),
        ("DELETE", "/api/roles/NO_SUCH_ROLE", None, 404),
        ("PATCH", "/api/roles/SUPER_ADMIN", {"permissions": ["VIEW_DASHBOARD"]}, 409),
        ("PATCH", "/api/roles/NO_SUCH_ROLE", {"description": "x"}, 404),
        ("POST", "/api/roles", {"name": "STAFF", "permissions": []}, 409),
        ("POST", "/api/roles", {"name": "lowercase", "permissions": []}, 422),
        ("POST", "/api/roles", {"name": "BAD_PERMS", "permissions": ["FLY"]}, 422),
        ("PUT", f"/api/users/{uuid.uuid4()}/role", {"role": "STAFF"}, 404),
        ("PUT", "/api/users/not-a-uuid/role", {"role": "STAFF"}, 422),
    ],
)
async def test_role_errors(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    response = await client.request(method, path, json=body, headers=accounts["SUPER_ADMIN"])
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_role_held_by_a_user_cannot_be_deleted(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    root = accounts["SUPER_ADMIN"]
    name = role_name()
    await client.post("/api/roles", json={"name": name, "permissions": []}, headers=root)
    email = await new_user(sessions, role=name)
    assert (await client.delete(f"/api/roles/{name}", headers=root)).status_code == 409
    holder = await sign_in(client, email)
    await client.put(
        f"/api/users/{await user_id(client, holder)}/role", json={"role": "CUSTOMER"}, headers=root
    )
    assert (await client.delete(f"/api/roles/{name}", headers=root)).status_code == 204


async def test_super_admin_cannot_change_own_role(
    client: httpx.AsyncClient, accounts: dict[str, dict[str, str]]
) -> None:
    root = accounts["SUPER_ADMIN"]
    response = await client.put(
        f"/api/users/{await user_id(client, root)}/role", json={"role": "CUSTOMER"}, headers=root
    )
    assert response.status_code == 403


async def test_disabled_account_is_signed_out_and_cannot_sign_in(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    email = await new_user(sessions)
    headers = await sign_in(client, email)
    admin = accounts["ADMIN"]
    uid = await user_id(client, headers)

    disabled = await client.patch(f"/api/users/{uid}", json={"active": False}, headers=admin)

    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 403
    await client.patch(f"/api/users/{uid}", json={"active": True}, headers=admin)
    await sign_in(client, email)


async def test_assigning_the_role_a_user_has_signs_nobody_out(
    client: httpx.AsyncClient,
    accounts: dict[str, dict[str, str]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    boss = await sign_in(client, await new_user(sessions, role="SUPER_ADMIN"))
    same = await client.put(
        f"/api/users/{await user_id(client, boss)}/role", json={"role": "SUPER_ADMIN"}, headers=boss
    )
    assert same.status_code == 200, same.text
    assert (await client.get("/api/auth/me", headers=boss)).status_code == 200, "still signed in"
