"""Accounts, tokens and sessions on real PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import httpx
import jwt
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bootstrap.settings import Settings
from commerce.db import transaction
from commerce.identity.models import User
from commerce.identity.service import create_user
from tests.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.usefixtures("reference")


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def registration(**fields: Any) -> dict[str, Any]:
    return {
        "email": new_email(),
        "password": PASSWORD,
        "first_name": "Ann",
        "last_name": "Lee",
        **fields,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_signs_in_a_customer_and_announces_it(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    body = registration(phone="+49 30 1234567")
    response = await client.post("/api/auth/register", json=body)

    assert response.status_code == 201, response.text
    tokens = response.json()
    assert tokens["user"]["role"] == "CUSTOMER"
    assert tokens["user"]["permissions"] == ["CREATE_ORDER"]
    assert tokens["expires_in"] == settings.access_token_minutes * 60
    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == body["email"]
    async with sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.email == body["email"]))
        events = (
            await session.execute(
                text("SELECT topic, event->>'type' FROM outbox WHERE key = :id"),
                {"id": tokens["user"]["id"]},
            )
        ).all()
    assert stored is not None and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert [tuple(e) for e in events] == [("users", "user.registered")]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"email": "not-an-email"}, 422),
        ({"password": "short"}, 422),
        ({"password": "password123"}, 422),
        ({"password": "aaaaaaaaaaaaaaa"}, 422),
        ({"first_name": ""}, 422),
        ({"phone": "call me"}, 422),
        ({"role": "SUPER_ADMIN"}, 422),
    ],
)
async def test_register_rejects_bad_input(
    client: httpx.AsyncClient, fields: dict[str, Any], status: int
) -> None:
    response = await client.post("/api/auth/register", json=registration(**fields))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_password_may_not_contain_the_email(client: httpx.AsyncClient) -> None:
    body = registration(email="josephine@example.com", password="josephine-2026-secret")
    assert (await client.post("/api/auth/register", json=body)).status_code == 422


async def test_duplicate_email_conflicts_case_insensitively(client: httpx.AsyncClient) -> None:
    body = registration()
    assert (await client.post("/api/auth/register", json=body)).status_code == 201
    again = registration(email=body["email"].upper())
    response = await client.post("/api/auth/register", json=again)
    assert response.status_code == 409


async def test_login_updates_last_login_and_wrong_password_is_401(
    client: httpx.AsyncClient,
) -> None:
    body = registration()
    await client.post("/api/auth/register", json=body)
    wrong = await client.post(
        "/api/auth/login", json={"email": body["email"], "password": "nope-nope-nope"}
    )
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    unknown = await client.post(
        "/api/auth/login", json={"email": new_email(), "password": PASSWORD}
    )
    assert unknown.status_code == 401

    response = await client.post(
        "/api/auth/login", json={"email": body["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["user"]["last_login_at"] is not None


async def test_legacy_bcrypt_hash_verifies_and_is_rehashed(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = new_email()
    async with transaction(sessions) as session:
        await create_user(session, email, PASSWORD, role="CUSTOMER")
        legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        await session.execute(update(User).where(User.email == email).values(password_hash=legacy))

    await sign_in(client, email)

    async with sessions() as session:
        rehashed = await session.scalar(select(User.password_hash).where(User.email == email))
    assert rehashed is not None and rehashed.startswith("$argon2id$")
    await sign_in(client, email)  # and the new hash verifies too


def forged(
    settings: Settings, claims: dict[str, Any], *, key: str | None = None, algorithm: str = "HS256"
) -> str:
    return jwt.encode(claims, key or settings.signing_key(), algorithm=algorithm)


async def test_bad_access_tokens_are_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    tokens = (await client.post("/api/auth/register", json=registration())).json()
    good = tokens["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    now = datetime.now(UTC)
    header, payload, signature = good.split(".")
    unsigned_none = jwt.encode({**claims, "role": "SUPER_ADMIN"}, None, algorithm="none")
    cases = {
        "tampered": f"{header}.{payload[:-2]}xy.{signature}",
        "wrong key": forged(settings, claims, key="another-key-0123456789-0123456789-01234567"),
        "alg none": unsigned_none,
        "expired": forged(
            settings, {**claims, "iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)}
        ),
        "no session": forged(settings, {k: v for k, v in claims.items() if k != "sid"}),
        "garbage": "not.a.token",
    }
    for name, token in cases.items():
        response = await client.get("/api/auth/me", headers=bearer(token))
        assert response.status_code == 401, name
    assert (await client.get("/api/auth/me", headers=bearer(good))).status_code == 200


async def test_logout_ends_the_session_at_once(client: httpx.AsyncClient) -> None:
    tokens = (await client.post("/api/auth/register", json=registration())).json()
    headers = bearer(tokens["access_token"])
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204

    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    first = (await client.post("/api/auth/register", json=registration())).json()
    second = (
        await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/auth/me", headers=bearer(second["access_token"]))
    ).status_code == 200

    reuse = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "already used" in reuse.json()["detail"]
    # The whole family is gone: the newest refresh token and the session's access tokens too.
    latest = await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert latest.status_code == 401
    assert (
        await client.get("/api/auth/me", headers=bearer(second["access_token"]))
    ).status_code == 401


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": "x" * 43})
    assert response.status_code == 401


async def test_demo_accounts_are_created_once_and_can_sign_in(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from demo.catalog import ensure_demo_users

    for _ in range(2):
        async with transaction(sessions) as session:
            users = await ensure_demo_users(session)
    for email, password, role in users:
        headers = await sign_in(client, email, password)
        assert (await client.get("/api/auth/me", headers=headers)).json()["role"] == role
