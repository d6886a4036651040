"""The worker's handler table: which consumers act on which event. Read it in one screen.

A name here is a projection (`streams.projections`: batches, idempotent effects) or a saga
step (a function taking the event and a unit of work: rows and the processed record commit
together). The composition root builds each from its adapters; `bind` gives every consumer
the topics its event types travel on, which is also what its checkpoint covers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from commerce.events import topic_for
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
from streams.steps import NOTIFY, ORDERS, PAYMENTS, REWARDS

CATALOG_PROJECTIONS = (SEARCH, WAREHOUSE, CATALOG_CACHE, STOCK)
#: Stock changes also feed low-stock alerts to staff.
STOCK_PROJECTIONS = (*CATALOG_PROJECTIONS, PUSH)

HANDLERS: dict[str, tuple[str, ...]] = {
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
    "order.created": (PAYMENTS, WAREHOUSE, PUSH, NOTIFY),
    "payment.succeeded": (ORDERS, WAREHOUSE, PUSH, NOTIFY),
    "payment.failed": (ORDERS, WAREHOUSE, PUSH),
    "order.cancelled": (PAYMENTS, WAREHOUSE, PUSH, NOTIFY, REWARDS),
    "order.returned": (PAYMENTS, WAREHOUSE, PUSH, REWARDS),
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


def consumer_names(handlers: Mapping[str, tuple[str, ...]] = HANDLERS) -> list[str]:
    """Every consumer the table names, in order of first mention."""
    return list(dict.fromkeys(name for names in handlers.values() for name in names))


def subscriptions(handlers: Mapping[str, tuple[str, ...]] = HANDLERS) -> dict[str, tuple[str, ...]]:
    """Each consumer and the topics its event types travel on."""
    return {name: _topics(types_of(name, handlers)) for name in consumer_names(handlers)}


def types_of(name: str, handlers: Mapping[str, tuple[str, ...]] = HANDLERS) -> frozenset[str]:
    return frozenset(event_type for event_type, names in handlers.items() if name in names)


def _topics(types: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({topic_for(event_type) for event_type in types}))


def bind(
    built: Mapping[str, Consumer],
    handlers: Mapping[str, tuple[str, ...]] = HANDLERS,
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
