from __future__ import annotations

from commerce.currency.money import SUPPORTED
from commerce.errors import InvalidInput


class UnsupportedCurrency(InvalidInput):
    title = "Unsupported currency"

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Prices are shown in {', '.join(SUPPORTED)}; not {code!r}.",
            supported=list(SUPPORTED),
        )
