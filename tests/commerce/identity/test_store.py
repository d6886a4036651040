"""The role-permission cache never goes back to an older version (real Redis)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from commerce.identity.store import IdentityCache


async def test_an_older_version_never_replaces_a_newer_one(redis: Redis) -> None:
    cache = IdentityCache(redis)
    name = f"ROLE_{uuid.uuid4().hex[:8].upper()}"

    await cache.put_role(name, 1, frozenset({"MANAGE_PRODUCTS"}))  # a reader loaded v1
    await cache.role_changed(name, 2, [])  # the change to v2 arrives
    await cache.role_changed(name, 1, ["MANAGE_PRODUCTS"])  # a late replay of v1
    await cache.put_role(name, 1, frozenset({"MANAGE_PRODUCTS"}))  # a slow reader of v1

    assert await cache.role(name) == (2, frozenset())


async def test_a_change_fills_an_empty_cache(redis: Redis) -> None:
    cache = IdentityCache(redis)
    name = f"ROLE_{uuid.uuid4().hex[:8].upper()}"
    await cache.role_changed(name, 3, ["VIEW_DASHBOARD"])
    assert await cache.role(name) == (3, frozenset({"VIEW_DASHBOARD"}))
    await cache.forget_role(name)
    assert await cache.role(name) is None
