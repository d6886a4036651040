"""An order's lifecycle: which status may follow which, and who moves it. Pure."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    PROCESSING = "PROCESSING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


#: Every legal move. The saga moves PENDING on (paid, declined, expired); staff move a paid
#: order along to delivery; the owner or staff cancel until it ships.
NEXT: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.CONFIRMED, Status.FAILED, Status.EXPIRED, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.PROCESSING, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset(),
    Status.FAILED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.CANCELLED: frozenset(),
}

#: What staff set by hand (PATCH /api/admin/orders/{id}/status); the rest the saga sets.
STAFF_MOVES = frozenset({Status.PROCESSING, Status.SHIPPED, Status.DELIVERED})
CANCELLABLE = frozenset(s for s, after in NEXT.items() if Status.CANCELLED in after)
#: The stock of these is sold (committed), not merely held.
PAID = frozenset({Status.CONFIRMED, Status.PROCESSING, Status.SHIPPED, Status.DELIVERED})


def can_move(current: str, target: str) -> bool:
    return Status(target) in NEXT[Status(current)]


def staff_targets(current: str) -> list[str]:
    return sorted(NEXT[Status(current)] & STAFF_MOVES)
