"""Password reset by email (a real SMTP server) and password change while signed in."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.db import transaction
from commerce.identity.models import PasswordReset
from commerce.identity.tokens import token_hash
from tests.api.test_notifications import address, arrived, register
from tests.conftest import PASSWORD
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("reference", "worker")

NEW_PASSWORD = "a-brand-new-passphrase-42"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def reset_token(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    asked = await client.post("/api/auth/password-reset", json={"email": email})
    assert asked.status_code == 202, asked.text
    message = await arrived(mailbox, email, "Reset your Storefront password")
    found = re.search(r"reset-password\?token=(\S+)", Mailbox.text(message))
    assert found is not None
    return found.group(1)


async def test_a_reset_link_by_email_sets_a_new_password_once_and_ends_every_session(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = address("reset")
    signed_in = await register(client, email)
    token = await reset_token(client, mailbox, email)

    reset = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert reset.status_code == 204, reset.text
    assert (await client.get("/api/auth/me", headers=signed_in)).status_code == 401
    assert (await login(client, email, PASSWORD)).status_code == 401
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "another-one-99"}
    )
    assert again.status_code == 400 and "used or expired" in again.json()["detail"]


async def test_the_answer_is_the_same_whether_or_not_the_account_exists(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = address("known")
    await register(client, email)
    await arrived(mailbox, email, "Welcome")
    nobody = address("nobody")

    known = await client.post("/api/auth/password-reset", json={"email": email})
    unknown = await client.post("/api/auth/password-reset", json={"email": nobody})

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    await arrived(mailbox, email, "Reset your")
    assert mailbox.to(nobody) == []
    soon_again = await client.post("/api/auth/password-reset", json={"email": email})
    assert soon_again.json() == known.json()
    assert len([m for m in mailbox.to(email) if "Reset" in m["Subject"]]) == 1


async def test_an_expired_or_made_up_token_and_a_weak_password_are_refused(
    client: httpx.AsyncClient, mailbox: Mailbox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    email = address("expired")
    await register(client, email)
    token = await reset_token(client, mailbox, email)

    weak = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "password123"}
    )
    assert weak.status_code == 422
    async with transaction(sessions) as session:
        await session.execute(
            update(PasswordReset)
            .where(PasswordReset.token_hash == token_hash(token))
            .values(expires_at=PasswordReset.created_at)
        )
    expired = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    made_up = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": uuid.uuid4().hex, "new_password": NEW_PASSWORD},
    )
    assert expired.status_code == made_up.status_code == 400
    assert (await login(client, email, PASSWORD)).status_code == 200
    for bad in ({"email": "not-an-address"}, {}, {"email": email, "extra": 1}):
        assert (await client.post("/api/auth/password-reset", json=bad)).status_code == 422
    short = await client.post("/api/auth/password-reset/confirm", json={"token": "x"})
    assert short.status_code == 422


async def test_a_signed_in_change_needs_the_current_password_and_ends_other_sessions(
    client: httpx.AsyncClient,
) -> None:
    email = address("change")
    here = await register(client, email)
    elsewhere_login = await login(client, email, PASSWORD)
    elsewhere = {"Authorization": f"Bearer {elsewhere_login.json()['access_token']}"}

    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=here,
    )
    assert wrong.status_code == 403
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=here,
    )

    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/auth/me", headers=here)).status_code == 200
    assert (await client.get("/api/auth/me", headers=elsewhere)).status_code == 401
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": elsewhere_login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    weak = await client.post(
        "/api/auth/password",
        json={"current_password": NEW_PASSWORD, "new_password": "password123"},
        headers=here,
    )
    assert weak.status_code == 422
