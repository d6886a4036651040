"""Who is calling, and the Redis adapters the identity use cases share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from commerce.identity.errors import Forbidden
from commerce.identity.permissions import Permission
from commerce.identity.store import IdentityCache, LoginLimiter, SessionStore
from commerce.identity.tokens import TokenIssuer


@dataclass(frozen=True)
class IdentityContext:
    """The Redis adapters and the token issuer the identity use cases share."""

    tokens: TokenIssuer
    sessions: SessionStore
    limiter: LoginLimiter
    cache: IdentityCache


@dataclass(frozen=True)
class Principal:
    """Who is calling, with the permissions their role holds right now."""

    user_id: uuid.UUID
    session_id: str
    role: str
    permissions: frozenset[str]

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"This needs the {permission} permission.")
