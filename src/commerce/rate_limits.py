"""Fixed-window limits in Redis, in tiers checked and counted in one step.

Concurrent requests cannot all read "4 of 5" and slip through together, and an attempt
refused by one tier does not count against the others (a shopper locked out on one address
must not use up the shop-wide allowance of their account).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

# Check every tier, then count, in one step. Returns the seconds until the first full
# tier's window reopens, or 0 when the attempt was counted.
RESERVE = """
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = tonumber(ARGV[1]) end
    return ttl
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""


@dataclass(frozen=True)
class Tier:
    """At most `cap` attempts counted under `key` in one window."""

    key: str
    cap: int


class RateLimiter:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(RESERVE)

    async def take(self, tiers: Sequence[Tier], window_seconds: int) -> int:
        """Count one attempt in every tier; 0, or the seconds to wait when a tier is full
        (then nothing is counted)."""
        retry_after = await self._reserve(
            keys=[tier.key for tier in tiers], args=[window_seconds, *(t.cap for t in tiers)]
        )
        return int(retry_after)
