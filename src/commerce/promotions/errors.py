from __future__ import annotations

from commerce.errors import Conflict, InvalidInput, NotFound


class CouponNotFound(NotFound):
    def __init__(self, coupon_id: object) -> None:
        super().__init__(f"No coupon with id {coupon_id}.")


class CodeTaken(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"A coupon with code {code!r} already exists (codes ignore case).", code=code
        )


class InvalidTerms(InvalidInput):
    """The fields of a coupon contradict each other, or name what does not exist."""


class CouponRejected(InvalidInput):
    """A code that does not apply to this basket; `rule` names the rule it failed."""

    title = "Coupon not applicable"

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail, rule=rule)
        self.rule = rule
