from commerce.errors import Conflict, InvalidInput, NotFound


class SkuNotFound(NotFound):
    def __init__(self, sku: str) -> None:
        super().__init__(f"No product variant with SKU {sku!r}.", sku=sku)


class UnknownWarehouse(InvalidInput):
    def __init__(self, code: str) -> None:
        super().__init__(f"No warehouse {code!r}; see GET /api/admin/warehouses.", warehouse=code)


class NegativeStock(Conflict):
    def __init__(self, sku: str, on_hand: int, reserved: int, requested: int) -> None:
        super().__init__(
            f"Stock of {sku!r} cannot go to {requested}: {on_hand} on hand, {reserved} reserved.",
            on_hand=on_hand,
            reserved=reserved,
        )


class OutOfStock(Conflict):
    """Some lines of an order cannot be reserved: each named with what is available."""

    title = "Not enough stock"

    def __init__(self, shortages: list[dict[str, object]]) -> None:
        names = ", ".join(f"{s['sku']} ({s['available']} of {s['wanted']})" for s in shortages)
        super().__init__(f"Not enough stock for {names}; nothing was reserved.", lines=shortages)
