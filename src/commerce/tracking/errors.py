from __future__ import annotations

from commerce.errors import TooManyRequests


class TooManyEvents(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        detail = f"Too many event batches from this address; retry in {retry_after} s."
        super().__init__(detail, retry_after)
