"""Access tokens (JWT, HS256, short-lived) and opaque refresh tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from commerce.identity.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "storefront"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: str
    role: str
    permissions_version: int
    #: When the token stops being accepted (None: not read from a token).
    expires_at: datetime | None = None


class TokenIssuer:
    def __init__(self, secret: str, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def access_token(self, claims: AccessClaims, now: datetime | None = None) -> str:
        """A signed JWT carrying user, session, role and the role's permission-set version."""
        issued = now or datetime.now(UTC)
        payload = {
            "iss": ISSUER,
            "sub": str(claims.user_id),
            "sid": claims.session_id,
            "role": claims.role,
            "pv": claims.permissions_version,
            "iat": issued,
            "exp": issued + self.access_ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def read(self, token: str) -> AccessClaims:
        """Verify signature, algorithm, issuer and expiry; anything else is Unauthenticated."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid", "iss"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(payload["sub"]),
                session_id=str(payload["sid"]),
                role=str(payload.get("role", "")),
                permissions_version=int(payload.get("pv", 0)),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Unauthenticated("The access token is invalid or expired.") from error


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(24)
