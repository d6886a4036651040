"""Password hashing: argon2id at OWASP's minimum (19 MiB, t=2, p=1); legacy bcrypt verifies."""

from __future__ import annotations

import asyncio

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Verified against when the email is unknown, so response time does not reveal accounts.
DUMMY_HASH = HASHER.hash("dummy password for timing")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


async def hash_in_thread(password: str) -> str:
    """Hash without blocking the event loop (argon2id takes ~25 ms of CPU)."""
    return await asyncio.to_thread(hash_password, password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches an argon2id or a legacy bcrypt hash."""
    if stored_hash.startswith(("$2a$", "$2b$", "$2y$")):
        return bcrypt.checkpw(password.encode()[:72], stored_hash.encode())
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Legacy bcrypt, or argon2 with parameters older than ours."""
    return not stored_hash.startswith("$argon2id$") or HASHER.check_needs_rehash(stored_hash)
