"""Orders: checkout, their lifecycle and returns."""
