"""Whether a coupon applies to a basket, and what it takes off: pure rules, checked in order.

Each failed rule raises `CouponRejected` naming it, so a shopper reads why ("expired",
"minimum_subtotal", …) and a client can branch on it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from commerce.currency.money import round_money
from commerce.promotions.errors import CouponRejected
from commerce.promotions.models import Coupon
from commerce.promotions.schemas import Basket, BasketLine, Discount


def discount_for(coupon: Coupon, basket: Basket, *, customer_uses: int, now: datetime) -> Discount:
    """The discount `coupon` gives `basket`, or the first rule it fails."""
    _check_dates(coupon, now)
    _check_limits(coupon, basket, customer_uses)
    if not basket.lines:
        raise CouponRejected("empty_cart", "Add items to the cart before applying a code.")
    _check_minimum(coupon, basket)
    eligible = sum(
        (line.amount for line in basket.lines if eligible_line(coupon, line)), Decimal(0)
    )
    if eligible <= 0:
        raise CouponRejected("restrictions", f"{coupon.code} applies only to {_scope(coupon)}.")
    amount = _amount(coupon, eligible, basket.currency)
    return Discount(
        coupon_id=coupon.id,
        code=coupon.code,
        amount=amount,
        currency=basket.currency,
        eligible_subtotal=eligible,
        line_shares=spread(
            amount,
            [line.amount if eligible_line(coupon, line) else Decimal(0) for line in basket.lines],
            basket.currency,
        ),
    )


def spread(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """`amount` split over lines in proportion to `weights`, each share rounded to the minor
    unit; the last weighted line takes what rounding left, so the shares add up exactly."""
    total = sum(weights, Decimal(0))
    shares = [round_money(amount * w / total, currency) if total else Decimal(0) for w in weights]
    weighted = [i for i, w in enumerate(weights) if w > 0]
    if weighted:
        shares[weighted[-1]] += amount - sum(shares, Decimal(0))
    return shares


def eligible_line(coupon: Coupon, line: BasketLine) -> bool:
    """A line qualifies when it is in one of the coupon's categories (or below one) and of one
    of its brands; a kind of restriction left empty lets every line through."""
    in_category = not coupon.categories or any(
        slug in line.category_path.split("/") for slug in coupon.categories
    )
    of_brand = not coupon.brands or line.brand in coupon.brands
    return in_category and of_brand


def _check_dates(coupon: Coupon, now: datetime) -> None:
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponRejected(
            "not_started", f"{coupon.code} can be used from {coupon.valid_from.isoformat()}."
        )
    if coupon.valid_to is not None and now >= coupon.valid_to:
        raise CouponRejected("expired", f"{coupon.code} expired at {coupon.valid_to.isoformat()}.")


def _check_limits(coupon: Coupon, basket: Basket, customer_uses: int) -> None:
    if coupon.owner_id is not None and basket.customer_id != coupon.owner_id:
        raise CouponRejected("not_yours", f"{coupon.code} belongs to another account.")
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        raise CouponRejected("usage_limit", f"{coupon.code} has been used up.")
    if coupon.per_customer_limit is None:
        return
    if basket.customer_id is None:
        raise CouponRejected(
            "per_customer_limit", f"{coupon.code} is limited per customer: sign in to use it."
        )
    if customer_uses >= coupon.per_customer_limit:
        raise CouponRejected(
            "per_customer_limit",
            f"You have used {coupon.code} {customer_uses} times, its limit per customer.",
        )


def _check_minimum(coupon: Coupon, basket: Basket) -> None:
    needs_currency = coupon.kind == "fixed" or coupon.min_subtotal is not None
    if needs_currency and coupon.currency != basket.currency:
        raise CouponRejected(
            "currency",
            f"{coupon.code} applies to carts in {coupon.currency}, not {basket.currency}.",
        )
    if coupon.min_subtotal is not None and basket.subtotal < coupon.min_subtotal:
        raise CouponRejected(
            "minimum_subtotal",
            f"{coupon.code} needs a subtotal of at least {coupon.min_subtotal} {coupon.currency}.",
        )


def _amount(coupon: Coupon, eligible: Decimal, currency: str) -> Decimal:
    if coupon.kind == "percentage":
        return round_money(eligible * coupon.value / 100, currency)
    return min(coupon.value, eligible)


def _scope(coupon: Coupon) -> str:
    parts = []
    if coupon.categories:
        parts.append("categories " + ", ".join(coupon.categories))
    if coupon.brands:
        parts.append("brands " + ", ".join(coupon.brands))
    return " and ".join(parts)
