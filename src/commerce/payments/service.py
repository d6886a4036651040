"""Charging an order and refunding it, with a record of every call to the provider.

Payments know an order only by the fields a charge needs (`Bill`): the orders domain decides
when an order is charged and holds its row lock meanwhile, so one order is never charged by
two paths at once; the provider's idempotency keys make a repeated call (a retry, a step run
again) charge once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stamina
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.events import PaymentRecorded
from commerce.outbox import add_event
from commerce.payments.errors import ProviderUnavailable
from commerce.payments.models import Payment, PaymentAudit
from commerce.payments.provider import ChargeResult, PaymentProvider
from commerce.payments.repository import PaymentRepository

SUCCEEDED, FAILED, REFUNDED = "SUCCEEDED", "FAILED", "REFUNDED"
#: Transient provider failures are retried this often, and never for longer than this
#: (nor past the order's reservation).
ATTEMPTS = 6
RETRY_SECONDS = 20.0


@dataclass(frozen=True)
class Bill:
    """What a charge needs of an order."""

    order_id: uuid.UUID
    amount: Decimal
    currency: str
    #: Retries stop here: the order's stock is held until then.
    pay_by: datetime


async def charge(
    session: AsyncSession, provider: PaymentProvider, bill: Bill, token: str
) -> Payment:
    """Charge a bill whose order the caller has locked; records the outcome and emits
    payment.succeeded or payment.failed (which the saga turns into CONFIRMED or FAILED)."""
    order_id = bill.order_id
    attempt_no = len(await PaymentRepository(session).for_order(order_id)) + 1
    key = f"order-{order_id}-{attempt_no}"
    left = (bill.pay_by - datetime.now(UTC)).total_seconds()
    result: ChargeResult | None = None
    try:
        async for attempt in stamina.retry_context(
            on=ProviderUnavailable,
            attempts=ATTEMPTS,
            timeout=max(0.1, min(RETRY_SECONDS, left)),
            wait_initial=0.05,
            wait_max=2.0,
        ):
            with attempt:
                try:
                    result = await provider.charge(
                        key=key,
                        order_id=str(order_id),
                        amount=bill.amount,
                        currency=bill.currency,
                        token=token,
                    )
                except ProviderUnavailable as error:
                    audit(
                        session, order_id, "charge_unavailable", {"key": key, "error": str(error)}
                    )
                    raise
    except ProviderUnavailable:
        result = None
    succeeded = result is not None and result.succeeded
    failure = None if succeeded else (result.code if result else "provider_unavailable")
    payment = Payment(
        id=uuid.uuid4(),
        order_id=order_id,
        provider=provider.name,
        reference=result.reference if result else None,
        amount=bill.amount,
        currency=bill.currency,
        status=SUCCEEDED if succeeded else FAILED,
        refunded=Decimal(0),
        failure=failure,
    )
    session.add(payment)
    audit(
        session,
        order_id,
        "charged" if succeeded else "charge_failed",
        {"key": key, "reference": payment.reference, "failure": failure},
    )
    await session.flush()
    _announce(session, "payment.succeeded" if succeeded else "payment.failed", payment, failure)
    return payment


async def refund(
    session: AsyncSession,
    provider: PaymentProvider,
    order_id: uuid.UUID,
    amount: Decimal,
    *,
    key: str,
    reason: str,
) -> Decimal:
    """Give back up to `amount` of what the order's payments took; returns what went back.

    Provider trouble raises: the saga step is retried, with the same key.
    """
    left = amount
    for payment in await PaymentRepository(session).for_order(order_id, for_update=True):
        give = min(left, payment.amount - payment.refunded)
        if payment.status == FAILED or give <= 0 or payment.reference is None:
            continue
        refund_id = await provider.refund(
            key=f"{key}-{payment.id}",
            reference=payment.reference,
            amount=give,
            currency=payment.currency,
        )
        payment.refunded += give
        if payment.refunded == payment.amount:
            payment.status = REFUNDED
        audit(session, order_id, "refunded", {"key": key, "refund": refund_id, "amount": str(give)})
        await session.flush()
        _announce(session, "payment.refunded", payment, reason, amount=give)
        left -= give
    return amount - left


def audit(session: AsyncSession, order_id: uuid.UUID, action: str, detail: dict[str, Any]) -> None:
    session.add(PaymentAudit(order_id=order_id, action=action, detail=detail))


def _announce(
    session: AsyncSession,
    event_type: str,
    payment: Payment,
    reason: str | None,
    *,
    amount: Decimal | None = None,
) -> None:
    add_event(
        session,
        event_type,
        payment.order_id,
        1,
        PaymentRecorded(
            payment_id=payment.id,
            order_id=payment.order_id,
            amount=payment.amount if amount is None else amount,
            currency=payment.currency,
            status=payment.status,
            provider_reference=payment.reference,
            reason=reason,
        ),
    )
