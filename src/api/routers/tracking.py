"""Events from shoppers' clients: views, result clicks and funnel steps, for analytics."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api.deps import ClientAddress, RedisClient, Session
from api.problems import responses
from commerce.tracking import service
from commerce.tracking.schemas import EventBatchIn, EventBatchOut

router = APIRouter(tags=["analytics"])


@router.post(
    "/api/events",
    status_code=202,
    response_model=EventBatchOut,
    responses=responses(401, 422, 429),
)
async def track(
    request: Request,
    data: EventBatchIn,
    session: Session,
    redis: RedisClient,
    address: ClientAddress,
) -> EventBatchOut:
    """Record a batch of up to 100 client events of one browsing session:
    `product_viewed` (product_id), `search_result_clicked` (query, product_id, position),
    `cart_viewed`, `checkout_started`. Anyone may send them; with a token they are the
    shopper's. One invalid event is a 422 naming its index and field, and nothing of the
    batch is kept. Batches are rate limited per address (429 with Retry-After)."""
    await service.admit(redis, address, per_minute=request.app.state.settings.events_per_minute)
    principal = getattr(request.state, "principal", None)
    customer = uuid.UUID(str(principal.user_id)) if principal is not None else None
    return EventBatchOut(accepted=service.record(session, data, customer))
