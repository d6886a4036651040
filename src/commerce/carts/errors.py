from __future__ import annotations

import uuid

from commerce.errors import Conflict, InvalidInput, NotFound, TooManyRequests


class UnknownProduct(InvalidInput):
    def __init__(self, product_id: uuid.UUID) -> None:
        super().__init__(
            f"No product with id {product_id} is for sale.", product_id=str(product_id)
        )


class VariantRequired(InvalidInput):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(
            f"This product comes in {len(skus)} variants; say which with variant_id.", skus=skus
        )


class UnknownVariant(InvalidInput):
    def __init__(self, variant_id: uuid.UUID) -> None:
        super().__init__(
            f"No variant {variant_id} of this product is for sale.", variant_id=str(variant_id)
        )


class QuantityLimit(InvalidInput):
    def __init__(self, limit: int, wanted: int) -> None:
        super().__init__(
            f"A cart holds at most {limit} units of a product; this would make {wanted}.",
            limit=limit,
            wanted=wanted,
        )


class CartFull(InvalidInput):
    def __init__(self, limit: int) -> None:
        super().__init__(f"A cart holds at most {limit} different items.", limit=limit)


class NotEnoughStock(Conflict):
    def __init__(self, sku: str, available: int, wanted: int) -> None:
        super().__init__(
            f"Only {available} of {sku} available; the cart would hold {wanted}.",
            sku=sku,
            available=available,
            wanted=wanted,
        )


class CartItemNotFound(NotFound):
    def __init__(self, item_id: uuid.UUID) -> None:
        super().__init__(f"No item {item_id} in your cart.")


class TooManyCouponAttempts(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many codes tried from this cart or address; retry in {retry_after} s.",
            retry_after,
        )
