from __future__ import annotations

from commerce.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unavailable,
)


class OrderNotFound(NotFound):
    def __init__(self, order_id: object) -> None:
        super().__init__(f"No order {order_id} of yours.")


class IdempotencyKeyRequired(DomainError):
    status = 428
    title = "Precondition required"

    def __init__(self) -> None:
        super().__init__(
            "Send an Idempotency-Key header (a new UUID per checkout, the same one on retries)."
        )


class IdempotencyKeyReused(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was used for a different request body; use a new key."
        )


class CheckoutInProgress(Conflict):
    def __init__(self) -> None:
        super().__init__("Another checkout of this cart is in progress; retry in a moment.")


class EmptyCart(Conflict):
    def __init__(self) -> None:
        super().__init__("The cart is empty: add items before checking out.")


class LinesUnavailable(Conflict):
    title = "Items no longer sold"

    def __init__(self, skus: list[str]) -> None:
        super().__init__(
            f"{', '.join(skus) or 'Some items'} are no longer sold: remove them from the cart.",
            items=skus,
        )


class PricesChanged(Conflict):
    """Lines whose price moved since they were added: the shopper confirms the new ones."""

    title = "Prices changed"

    def __init__(self, lines: list[dict[str, object]]) -> None:
        super().__init__(
            "Prices changed since these items were added; retry with each new price in "
            "`acknowledged_prices` (item id -> current_price, in USD) to accept them.",
            lines=lines,
        )


class CouponNoLongerApplies(Conflict):
    title = "Coupon no longer applies"

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{detail} Remove the code or change the cart.", rule=rule)


class IllegalTransition(Conflict):
    title = "Illegal status change"

    def __init__(self, current: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"An order {current} cannot become {target}; allowed: {', '.join(allowed) or 'none'}.",
            status_now=current,
            allowed=allowed,
        )


class NotReturnable(Conflict):
    title = "Not returnable"


class ReturnNotFound(NotFound):
    def __init__(self, return_id: object) -> None:
        super().__init__(f"No return {return_id}.")


class PaymentNotPossible(Conflict):
    title = "Payment not possible"


class TooManyUnpaidOrders(Conflict):
    """The customer's cap: they can act on it (pay or cancel one)."""

    title = "Too many unpaid orders"

    def __init__(self, cap: int, open_orders: list[str]) -> None:
        super().__init__(
            f"You have {cap} unpaid orders holding stock: pay or cancel one before placing "
            "another.",
            limit="unpaid_orders_per_customer",
            cap=cap,
            open_orders=open_orders,
        )


class TooManyUnpaidFromAddress(TooManyRequests):
    """The address's cap: many accounts behind one address holding stock unpaid."""

    def __init__(self, cap: int, retry_after: int) -> None:
        super().__init__(
            f"{cap} unpaid orders from this address already hold stock; retry when one is paid "
            f"or expires (in {retry_after} s at most).",
            retry_after,
        )
        self.extra = {"limit": "unpaid_orders_per_address", "cap": cap}


class CheckoutPaused(Unavailable):
    """Orders are being placed faster than they are confirmed: new ones wait a moment rather
    than queue behind a saga that falls further behind."""

    def __init__(self, behind_seconds: float, retry_after: int) -> None:
        super().__init__(
            f"Orders are being confirmed {behind_seconds:.1f} s behind; nothing was placed. "
            f"Try again in {retry_after} s.",
            retry_after,
        )
