"""What can go wrong with a payment provider (the card network's side, not the shopper's)."""

from __future__ import annotations


class ProviderUnavailable(RuntimeError):
    """The provider did not answer, or answered 5xx: the call may be retried with its key."""


class ProviderRefused(RuntimeError):
    """The provider refused a request it should not have (a bug or a misconfiguration)."""
