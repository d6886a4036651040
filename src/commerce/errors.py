"""Domain errors carry the HTTP status they map to; the API renders them as problem details."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a client can cause; `status` is the HTTP status it means."""

    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        """Response headers the status calls for (WWW-Authenticate, Retry-After)."""
        return {}


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class RetryLater(DomainError):
    """Refused for now, not for good; Retry-After says in how many seconds to try again."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyRequests(RetryLater):
    """A rate limit refused the request; Retry-After says when the window reopens."""

    status = 429
    title = "Too many requests"


class Unavailable(RetryLater):
    """The shop cannot take this now, through no fault of the request."""

    status = 503
    title = "Service unavailable"
