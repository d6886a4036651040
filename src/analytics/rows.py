"""Warehouse rows from domain events, column for column as `analytics.schema` declares them.

Events arrive as anything shaped like the commerce envelope (`EventRecord`): analytics does
not import the domain, it reads the payload's fields by the names the event catalogue gives.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from analytics.schema import TABLES

Rows = dict[str, list[dict[str, Any]]]


class SoldLine(Protocol):
    @property
    def product_id(self) -> Any: ...

    @property
    def category(self) -> str: ...

    @property
    def quantity(self) -> int: ...

    @property
    def total(self) -> Decimal: ...


class SoldOrder(Protocol):
    """A placed order as PostgreSQL holds it: what the warehouse needs to count it as sold
    (when its order.confirmed arrives) or to price a refund in dollars."""

    @property
    def customer_id(self) -> Any: ...

    @property
    def placed_at(self) -> datetime: ...

    @property
    def currency(self) -> str: ...

    @property
    def rate(self) -> Decimal: ...

    @property
    def total(self) -> Decimal: ...

    @property
    def discount(self) -> Decimal: ...

    #: No paid order of the customer's was placed before this one.
    @property
    def first_paid(self) -> bool: ...

    @property
    def lines(self) -> Sequence[SoldLine]: ...

    #: No paid order of the customer's was placed before this one in its month (UTC).
    @property
    def first_in_month(self) -> bool: ...

    #: The month of the customer's first paid order (None: counted in no cohort).
    @property
    def cohort(self) -> date | None: ...


class EventRecord(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def seq(self) -> int | None: ...

    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


def naive_utc(moment: datetime) -> datetime:
    """Naive UTC timestamps: `date_trunc` over TIMESTAMPTZ is ~10x slower (FACTS.md)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


CENT = Decimal("0.01")


def in_dollars(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` of a currency worth `rate` per dollar, in dollars to the cent (half up, as
    PostgreSQL's round does)."""
    return (amount / rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _product_version(event: EventRecord) -> dict[str, Any]:
    product = event.payload
    return {
        "product_id": str(product["id"]),
        "version": int(product["version"]),
        "sku": product["sku"],
        "name": product["name"],
        "brand": product["brand"],
        "category": product["category"],
        "category_path": product["category_path"],
        "price": Decimal(str(product["price"])),
        "currency": product.get("currency", "USD"),
        "rating": float(product["rating"]),
        "deleted": bool(product.get("deleted", False)),
        "valid_from": naive_utc(event.occurred_at),
    }


def _variant_versions(event: EventRecord) -> list[dict[str, Any]]:
    """The product's live variants at this version; `options` as sorted JSON text."""
    product = event.payload
    return [
        {
            "product_id": str(product["id"]),
            "product_version": int(product["version"]),
            "variant_id": str(variant["id"]),
            "sku": variant["sku"],
            "options": json.dumps(variant.get("options") or {}, sort_keys=True),
            "price": Decimal(str(variant.get("price") or product["price"])),
            "valid_from": naive_utc(event.occurred_at),
        }
        for variant in product.get("variants") or []
    ]


def _stock_movement(event: EventRecord) -> dict[str, Any]:
    stock = event.payload
    variant = stock.get("variant_id")
    return {
        "movement_id": int(stock["movement_id"]),
        "product_id": str(stock["product_id"]),
        "variant_id": str(variant) if variant else None,
        "sku": stock["sku"],
        "warehouse": stock["warehouse"],
        "delta": int(stock["delta"]),
        "on_hand_after": int(stock["on_hand"]),
        "available_after": int(stock["available"]),
        "reason": stock["reason"],
        "occurred_at": naive_utc(event.occurred_at),
        "movement": event.type.removeprefix("stock."),
        "reserved_delta": int(stock.get("reserved_delta") or 0),
        "order_id": str(stock["order_id"]) if stock.get("order_id") else None,
    }


def _order_event(event: EventRecord) -> dict[str, Any]:
    order = event.payload
    lines = order.get("lines") or []
    return {
        "order_id": str(order["order_id"]),
        "customer_id": str(order["customer_id"]),
        "event": event.type.removeprefix("order."),
        "status": order.get("status", "PENDING" if event.type == "order.created" else None),
        "currency": order["currency"],
        "total": _money(order.get("total")),
        "discount": _money(order.get("discount")),
        "refund": _money(order.get("refund")),
        "units": sum(int(line["quantity"]) for line in lines) if lines else None,
        "coupon_code": order.get("coupon_code"),
        "occurred_at": naive_utc(event.occurred_at),
        "rate": _money(order.get("rate")),
        "total_usd": _dollars(order.get("total"), order.get("rate")),
    }


def _order_lines(event: EventRecord) -> list[dict[str, Any]]:
    order = event.payload
    return [
        {
            "order_id": str(order["order_id"]),
            "line_id": str(line["line_id"]),
            "customer_id": str(order["customer_id"]),
            "product_id": str(line["product_id"]),
            "variant_id": str(line["variant_id"]),
            "sku": line["sku"],
            "category": line.get("category"),
            "quantity": int(line["quantity"]),
            "unit_price": Decimal(str(line["unit_price"])),
            "discount": Decimal(str(line["discount"])),
            "total": Decimal(str(line["total"])),
            "currency": order["currency"],
            "total_usd": _dollars(line["total"], order["rate"]),
            "placed_at": naive_utc(event.occurred_at),
        }
        for line in order["lines"]
    ]


def _dollars(amount: Any, rate: Any) -> Decimal | None:
    if amount is None or rate is None:
        return None
    return in_dollars(Decimal(str(amount)), Decimal(str(rate)))


def _payment(event: EventRecord, orders: Mapping[str, SoldOrder]) -> dict[str, Any]:
    payment = event.payload
    order = orders.get(str(payment["order_id"]))
    return {
        "payment_id": str(payment["payment_id"]),
        "order_id": str(payment["order_id"]),
        "event": event.type.removeprefix("payment."),
        "amount": _money(payment["amount"]),
        "currency": payment["currency"],
        "status": payment["status"],
        "reason": payment.get("reason"),
        "occurred_at": naive_utc(event.occurred_at),
        "amount_usd": in_dollars(_decimal(payment["amount"]), order.rate) if order else None,
    }


SEARCH_EVENTS = ("search.answered", "search.performed")


def searches_of(event: EventRecord) -> list[dict[str, Any]]:
    """The searches an event records: a flush's batch, or (older outboxes) just one."""
    if event.type == "search.answered":
        searches: list[dict[str, Any]] = event.payload["searches"]
        return searches
    return [dict(event.payload)]


def search_day(search: Mapping[str, Any], event: EventRecord) -> datetime:
    """When the search was answered (naive UTC): its own time, else its event's."""
    answered = search.get("answered_at")
    return naive_utc(datetime.fromisoformat(answered) if answered else event.occurred_at)


def _search(search: Mapping[str, Any], event: EventRecord) -> dict[str, Any]:
    return {
        # A batch's searches share an event: each row names its own search.
        "event_id": str(search.get("search_id") or event.event_id),
        "session_id": search.get("session_id"),
        "query": search["query"],
        "query_key": query_key(search["query"]),
        "filters": json.dumps(search.get("filters") or {}, sort_keys=True),
        "sort": search["sort"],
        "page": int(search["page"]),
        "results": int(search["results"]),
        "latency_ms": float(search["latency_ms"]),
        "occurred_at": search_day(search, event),
    }


def query_key(query: str) -> str:
    """Searches counted together: case and spacing folded ("  Red  Kettle" = "red kettle")."""
    return " ".join(query.casefold().split())


def _customer(event: EventRecord) -> dict[str, Any]:
    user = event.payload
    return {
        "customer_id": str(user["user_id"]),
        "role": user["role"],
        "registered_at": naive_utc(event.occurred_at),
    }


def _client_event(event: EventRecord) -> dict[str, Any]:
    activity = event.payload
    return {
        "session_id": activity["session_id"],
        "customer_id": _text(activity.get("customer_id")),
        "event": event.type.removeprefix("activity."),
        "product_id": _text(activity.get("product_id")),
        "query": activity.get("query"),
        "position": activity.get("position"),
        "occurred_at": naive_utc(event.occurred_at),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _money(value: Any) -> Decimal | None:
    return None if value is None else _decimal(value)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def warehouse_rows(
    events: Iterable[EventRecord], orders: Mapping[str, SoldOrder] | None = None
) -> Rows:
    """Dimension versions and facts for a batch; `orders` prices refunds in dollars."""
    rows: Rows = {table: [] for table in TABLES}
    for event in events:
        base = {"event_seq": event.seq, "event_id": str(event.event_id)}
        if event.type.startswith("product."):
            rows["dim_product"].append({**base, **_product_version(event)})
            rows["dim_product_variant"] += [{**base, **v} for v in _variant_versions(event)]
        elif event.type.startswith("stock."):
            rows["fact_stock_movements"].append({**base, **_stock_movement(event)})
        elif event.type.startswith("order."):
            rows["fact_order_events"].append({**base, **_order_event(event)})
            if event.type == "order.created":
                rows["fact_order_lines"] += [{**base, **line} for line in _order_lines(event)]
        elif event.type.startswith("payment."):
            rows["fact_payments"].append({**base, **_payment(event, orders or {})})
        elif event.type.startswith("activity."):
            rows["fact_client_events"].append({**base, **_client_event(event)})
        elif event.type in SEARCH_EVENTS:
            rows["fact_searches"] += [
                {**base, **_search(search, event)} for search in searches_of(event)
            ]
        elif event.type == "user.registered":
            rows["dim_customer"].append({**base, **_customer(event)})
    return rows
