"""Identity state in Redis: sessions, login rate limits, cached users and role permissions."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from commerce.identity.errors import TooManyAttempts

# INCR and set the window on the first attempt, atomically: concurrent logins cannot
# all read "4 attempts" and slip through together.
RESERVE = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[i] = n
end
return counts
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


NEWER_ROLE = """
local cached = redis.call('GET', KEYS[1])
if cached and cjson.decode(cached)['version'] >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class SessionStore:
    """A session per login; deleting it revokes its access tokens at once."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    async def open(self, session_id: str, user_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(f"session:{session_id}", user_id, ex=self.ttl)
            pipe.sadd(f"user:{user_id}:sessions", session_id)
            pipe.expire(f"user:{user_id}:sessions", self.ttl)
            await pipe.execute()

    async def is_open(self, session_id: str, user_id: str) -> bool:
        owner = await self.redis.get(f"session:{session_id}")
        return owner is not None and _text(owner) == user_id

    async def close(self, session_id: str) -> None:
        await self.redis.delete(f"session:{session_id}")

    async def close_all(self, user_id: str) -> list[str]:
        """Close every session of a user (role change, deactivation); returns their ids."""
        key = f"user:{user_id}:sessions"
        session_ids = [_text(s) for s in await self.redis.smembers(key)]
        if session_ids:
            await self.redis.delete(*(f"session:{sid}" for sid in session_ids), key)
        return session_ids


class LoginLimiter:
    """At most `limit` failed logins per window, per account and per client address."""

    def __init__(self, redis: Redis, *, limit: int, window_seconds: int) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window_seconds
        self._reserve = redis.register_script(RESERVE)

    @staticmethod
    def _keys(email: str, address: str) -> tuple[str, str]:
        return f"login-failures:account:{email}", f"login-failures:address:{address}"

    async def reserve(self, email: str, address: str) -> None:
        """Count this attempt as a failure until it succeeds; refuse beyond the limit."""
        keys = self._keys(email, address)
        counts = await self._reserve(keys=list(keys), args=[self.window])
        if any(int(count) > self.limit for count in counts):
            ttls = [
                await self.redis.ttl(key)
                for key, c in zip(keys, counts, strict=True)
                if int(c) > self.limit
            ]
            raise TooManyAttempts(retry_after=max(1, *ttls))

    async def succeeded(self, email: str, address: str) -> None:
        """The account's count is cleared; the address keeps its other failures."""
        account, address_key = self._keys(email, address)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(account)
            pipe.decr(address_key)
            await pipe.execute()


class IdentityCache:
    """Users by email (for login) and role permissions (for every request)."""

    def __init__(self, redis: Redis, ttl_seconds: int = 900) -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self._newer_role = redis.register_script(NEWER_ROLE)

    async def user(self, email: str) -> dict[str, str] | None:
        raw = await self.redis.get(f"user:email:{email}")
        return orjson.loads(raw) if raw else None

    async def put_user(self, email: str, record: dict[str, str]) -> None:
        await self.redis.set(f"user:email:{email}", orjson.dumps(record), ex=self.ttl)

    async def forget_user(self, email: str) -> None:
        await self.redis.delete(f"user:email:{email}")

    async def role(self, name: str) -> tuple[int, frozenset[str]] | None:
        raw = await self.redis.get(f"role:{name}:permissions")
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
