"""Identity state in Redis: sessions, login rate limits and role permissions."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from commerce.identity.errors import TooManyAttempts
from commerce.metrics import count_lookup
from commerce.rate_limits import RateLimiter, Tier


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


NEWER_ROLE = """
local cached = redis.call('GET', KEYS[1])
if cached and cjson.decode(cached)['version'] >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


# Close one session; its user stays signed in while another of their sessions is open.
CLOSE = """
local user = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
if not user then return 0 end
local others = 'user:' .. user .. ':sessions'
redis.call('SREM', others, ARGV[1])
for _, sid in ipairs(redis.call('SMEMBERS', others)) do
  if redis.call('EXISTS', 'session:' .. sid) == 1 then return 1 end
end
redis.call('ZREM', KEYS[2], user)
return 1
"""

#: Users with an open session, scored by when their latest session expires.
SIGNED_IN = "users:signed-in"


class SessionStore:
    """A session per login; deleting it revokes its access tokens at once."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self._close = redis.register_script(CLOSE)

    async def open(self, session_id: str, user_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"session:{session_id}", user_id, ex=self.ttl)
            pipe.sadd(f"user:{user_id}:sessions", session_id)
            pipe.expire(f"user:{user_id}:sessions", self.ttl)
            pipe.zadd(SIGNED_IN, {user_id: time.time() + self.ttl}, gt=True)
            await pipe.execute()

    async def signed_in(self) -> int:
        """How many users have a session open now."""
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(SIGNED_IN, "-inf", now)
            pipe.zcard(SIGNED_IN)
            _, count = await pipe.execute()
        return int(count)

    async def is_open(self, session_id: str, user_id: str) -> bool:
        owner = await self.redis.get(f"session:{session_id}")
        return owner is not None and _text(owner) == user_id

    async def close(self, session_id: str) -> None:
        await self._close(keys=[f"session:{session_id}", SIGNED_IN], args=[session_id])

    async def close_all(self, user_id: str, keep: str | None = None) -> list[str]:
        """Close every session of a user (role change, deactivation, new password) but
        `keep`; returns the ids closed."""
        key = f"user:{user_id}:sessions"
        session_ids = [_text(s) for s in await self.redis.smembers(key) if _text(s) != keep]
        async with self.redis.pipeline(transaction=True) as pipe:
            if session_ids:
                pipe.delete(*(f"session:{sid}" for sid in session_ids))
                pipe.srem(key, *session_ids)
            if keep is None:
                pipe.delete(key)
                pipe.zrem(SIGNED_IN, user_id)
            await pipe.execute()
        return session_ids


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per window, in tiers, so one address cannot lock a shop out."""

    per_account_and_address: int = 5
    per_account: int = 20
    per_address: int = 100
    window_seconds: int = 900


class LoginLimiter:
    """Counts failed logins per account and address pair, per account, and per address."""

    def __init__(self, redis: Redis, limits: LoginLimits) -> None:
        self.redis = redis
        self.limits = limits
        self._limiter = RateLimiter(redis)

    @staticmethod
    def _keys(email: str, address: str) -> list[str]:
        return [
            f"login-failures:pair:{email}:{address}",
            f"login-failures:account:{email}",
            f"login-failures:address:{address}",
        ]

    async def reserve(self, email: str, address: str) -> None:
        """Count this attempt as a failure until it succeeds; refuse when a tier is full."""
        limits = self.limits
        caps = [limits.per_account_and_address, limits.per_account, limits.per_address]
        tiers = [Tier(key, cap) for key, cap in zip(self._keys(email, address), caps, strict=True)]
        if retry_after := await self._limiter.take(tiers, limits.window_seconds):
            raise TooManyAttempts(retry_after=retry_after)

    async def succeeded(self, email: str, address: str) -> None:
        """The account's counts start over; the address keeps its failures on other accounts."""
        pair, account, address_key = self._keys(email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair, account)
            pipe.decr(address_key)
            await pipe.execute()


class IdentityCache:
    """Role permissions, read on every request. Never secrets: no password hashes, no tokens."""

    def __init__(self, redis: Redis, ttl_seconds: int = 900) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self._newer_role = redis.register_script(NEWER_ROLE)

    async def role(self, name: str) -> tuple[int, frozenset[str]] | None:
        raw = await self.redis.get(f"role:{name}:permissions")
        count_lookup("role_permissions", hit=bool(raw))
        if not raw:
            return None
        cached = orjson.loads(raw)
        return int(cached["version"]), frozenset(cached["permissions"])

    async def put_role(self, name: str, version: int, permissions: frozenset[str]) -> None:
        """Cache what a reader loaded, unless a change was cached meanwhile (NX)."""
        body = orjson.dumps({"version": version, "permissions": sorted(permissions)})
        await self.redis.set(f"role:{name}:permissions", body, ex=self.ttl, nx=True)

    async def role_changed(self, name: str, version: int, permissions: list[str]) -> None:
        """Cache a role's new permissions unless a newer version is already cached.

        Writing the change (not just deleting the key) closes the race with a reader that
        loaded the old permissions just before the change committed.
        """
        body = orjson.dumps({"version": version, "permissions": sorted(permissions)})
        await self._newer_role(keys=[f"role:{name}:permissions"], args=[version, body, self.ttl])

    async def forget_role(self, name: str) -> None:
        await self.redis.delete(f"role:{name}:permissions")
