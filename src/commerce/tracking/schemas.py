"""A batch of client events as sent: each kind names the fields it needs."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: At most this many events a request: a client buffers and sends them every few seconds.
MAX_BATCH = 100

SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{8,64}$")]
Query = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$"
    ),
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductViewed(_Event):
    type: Literal["product_viewed"]
    product_id: uuid.UUID


class SearchResultClicked(_Event):
    type: Literal["search_result_clicked"]
    query: Query
    product_id: uuid.UUID
    position: int = Field(ge=1, le=10_000)


class CartViewed(_Event):
    type: Literal["cart_viewed"]


class CheckoutStarted(_Event):
    type: Literal["checkout_started"]


ClientEvent = Annotated[
    ProductViewed | SearchResultClicked | CartViewed | CheckoutStarted,
    Field(discriminator="type"),
]


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The client's own id for this browsing session (a cookie or app install), not a token.
    session_id: SessionId
    events: list[ClientEvent] = Field(min_length=1, max_length=MAX_BATCH)


class EventBatchOut(BaseModel):
    accepted: int
