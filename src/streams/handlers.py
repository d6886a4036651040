"""The worker's handler table: which consumers act on which event. Read it in one screen.

A name here is a projection (`streams.projections`: batches, idempotent effects) or a step
consumer (`streams.steps`: one event in one unit of work, whose rows and processed record
commit together). The checkout saga's steps are named where they act: `Step(consumer,
function)`, the function taking the event, its unit of work and the adapters it names. The
composition root builds each consumer from its adapters; `bind` gives every consumer the
topics its event types travel on, which is also what its checkpoint covers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from commerce.events import topic_for
from commerce.orders import saga as orders
from commerce.payments import saga as payments
from streams.consumers import Consumer
from streams.projections import (
    CATALOG_CACHE,
    LIVE,
    PERMISSIONS,
    PUSH,
    SEARCH,
    STOCK,
    WAREHOUSE,
)
from streams.steps import NOTIFY, ORDERS, PAYMENTS, REWARDS, SagaStep


class Step(NamedTuple):
    """A saga step in the table: the consumer that runs it (its checkpoint, an order's
    events in order) and the function; `together`: it takes each run of consecutive events
    of its type at once, and its consumer takes a batch in one unit of work."""

    consumer: str
    run: SagaStep
    together: bool = False


Handler = str | Step
CATALOG_PROJECTIONS = (SEARCH, WAREHOUSE, CATALOG_CACHE, STOCK)
#: Stock changes also feed low-stock alerts to staff.
STOCK_PROJECTIONS = (*CATALOG_PROJECTIONS, PUSH)

HANDLERS: dict[str, tuple[Handler, ...]] = {
    # catalog and stock: what shoppers search and browse, and what analysts count
    "product.created": CATALOG_PROJECTIONS,
    "product.updated": CATALOG_PROJECTIONS,
    "product.deleted": CATALOG_PROJECTIONS,
    "stock.adjusted": STOCK_PROJECTIONS,
    # stock held, sold, released and returned by orders: availability in search and browse
    "stock.reserved": STOCK_PROJECTIONS,
    "stock.released": STOCK_PROJECTIONS,
    "stock.committed": STOCK_PROJECTIONS,
    "stock.restocked": STOCK_PROJECTIONS,
    "stock.returned": STOCK_PROJECTIONS,
    # a SKU's low-stock line, shown and filtered on in the stock index
    "stock.line_changed": (STOCK,),
    # the checkout saga: charge, confirm or fail, refund; each change pushed to its customer,
    # the ones worth an email notified, and paid, cancelled or returned orders rewarded
    "order.created": (Step(PAYMENTS, orders.charge_placed), WAREHOUSE, PUSH, NOTIFY),
    "payment.succeeded": (
        Step(ORDERS, orders.confirm_paid, together=True),
        WAREHOUSE,
        PUSH,
        NOTIFY,
    ),
    "payment.failed": (Step(ORDERS, orders.fail_unpaid), WAREHOUSE, PUSH),
    "order.cancelled": (Step(PAYMENTS, payments.refund_order), WAREHOUSE, PUSH, NOTIFY, REWARDS),
    "order.returned": (Step(PAYMENTS, payments.refund_return), WAREHOUSE, PUSH, REWARDS),
    "order.confirmed": (WAREHOUSE, LIVE, PUSH, REWARDS),
    "order.failed": (WAREHOUSE, PUSH),
    "order.expired": (WAREHOUSE, PUSH),
    "order.status_changed": (WAREHOUSE, PUSH, NOTIFY),
    "payment.refunded": (WAREHOUSE, PUSH, NOTIFY),
    # a SKU fell below its low-stock line (found by the push consumer): staff who chose it
    "stock.low": (NOTIFY,),
    # rewards: pushed to their customer and notified
    "achievement.unlocked": (PUSH, NOTIFY),
    "quest.completed": (PUSH, NOTIFY),
    "quest.reopened": (PUSH,),
    # what shoppers' clients did: funnels and search analytics
    "activity.product_viewed": (WAREHOUSE,),
    "activity.search_result_clicked": (WAREHOUSE,),
    "activity.cart_viewed": (WAREHOUSE,),
    "activity.checkout_started": (WAREHOUSE,),
    "search.answered": (WAREHOUSE,),
    "search.performed": (WAREHOUSE,),  # one search an event: outboxes from before 2026-12
    # access: a changed role's permissions apply everywhere within a second
    "role.created": (PERMISSIONS,),
    "role.updated": (PERMISSIONS,),
    "role.deleted": (PERMISSIONS,),
    # customers: cohorts, and a welcome
    "user.registered": (WAREHOUSE, NOTIFY),
}


Table = Mapping[str, tuple[Handler, ...]]


def consumer_names(handlers: Table = HANDLERS) -> list[str]:
    """Every consumer the table names, in order of first mention."""
    return list(dict.fromkeys(_name(h) for named in handlers.values() for h in named))


def subscriptions(handlers: Table = HANDLERS) -> dict[str, tuple[str, ...]]:
    """Each consumer and the topics its event types travel on."""
    return {name: _topics(types_of(name, handlers)) for name in consumer_names(handlers)}


def types_of(name: str, handlers: Table = HANDLERS) -> frozenset[str]:
    return frozenset(
        event_type for event_type, named in handlers.items() if name in map(_name, named)
    )


def steps_of(name: str, handlers: Table = HANDLERS) -> dict[str, SagaStep]:
    """The saga steps `name` runs, by the event type each takes."""
    return {event_type: step.run for event_type, step in _steps(name, handlers)}


def together_of(name: str, handlers: Table = HANDLERS) -> frozenset[str]:
    """The event types whose step `name` takes a run of at once."""
    return frozenset(event_type for event_type, step in _steps(name, handlers) if step.together)


def _steps(name: str, handlers: Table) -> list[tuple[str, Step]]:
    return [
        (event_type, handler)
        for event_type, named in handlers.items()
        for handler in named
        if isinstance(handler, Step) and handler.consumer == name
    ]


def _name(handler: Handler) -> str:
    return handler if isinstance(handler, str) else handler.consumer


def _topics(types: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({topic_for(event_type) for event_type in types}))


def bind(
    built: Mapping[str, Consumer],
    handlers: Table = HANDLERS,
    *,
    only: Iterable[str] | None = None,
) -> list[Consumer]:
    """The consumers the table names (or `only` these), given their event types and topics."""
    names = consumer_names(handlers)
    chosen = names if only is None else [name for name in names if name in set(only)]
    if only is not None and (unknown := set(only) - set(names)):
        raise ValueError(f"no consumer named {sorted(unknown)} in the handler table")
    missing = set(chosen) - built.keys()
    if missing:
        raise ValueError(f"the handler table names consumers nobody built: {sorted(missing)}")
    return [
        dataclasses.replace(
            built[name], types=types_of(name, handlers), topics=_topics(types_of(name, handlers))
        )
        for name in chosen
    ]
