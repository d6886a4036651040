"""A card provider's sandbox, for the embedded stack and the tests: the real HTTP API our
payment adapter speaks (payment intents, confirm, refunds, idempotency keys), no money.

An intent is confirmed by its own call, or at creation (`confirm: true` with the
`payment_method`, as the card providers allow): one round trip a charge.

Test tokens decide the outcome, as real sandboxes' do:
`tok_visa` and `tok_mastercard` succeed; `tok_declined` and `tok_insufficient_funds` are
declined (402); `tok_transient` answers 503 twice per payment intent (per Idempotency-Key
when confirmed at creation: each retry makes a new intent), then succeeds;
`tok_unavailable` always answers 503. State lives in memory: it is a sandbox.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SUCCEEDING = {"tok_visa", "tok_mastercard"}
DECLINES = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
TRANSIENT_FAILURES = 2


@dataclass
class Sandbox:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Idempotency-Key -> (request digest, status, body) of answered writes.
    answered: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    confirm_attempts: dict[str, int] = field(default_factory=dict)
    calls: int = 0


def create_sandbox_app() -> Starlette:
    sandbox = Sandbox()

    async def idempotent(request: Request, handle: Any) -> JSONResponse:
        sandbox.calls += 1
        body = await request.body()
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return _error(400, "invalid_request", "body is not JSON")
        key = request.headers.get("idempotency-key")
        digest = hashlib.sha256(request.url.path.encode() + body).hexdigest()
        if key and key in sandbox.answered:
            seen, status, answer = sandbox.answered[key]
            if seen != digest:
                return _error(400, "idempotency_error", "key reused with another request")
            return JSONResponse(answer, status_code=status)
        status, answer = handle(request, data)
        if key and status < 500:  # a failure to answer may be retried with the same key
            sandbox.answered[key] = (digest, status, answer)
        return JSONResponse(answer, status_code=status)

    def create_intent(request: Request, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount, currency = data.get("amount"), data.get("currency")
        if not isinstance(amount, int) or amount <= 0 or not isinstance(currency, str):
            return 400, {"error": {"code": "invalid_request", "message": "amount, currency"}}
        intent = {
            "id": f"pi_{uuid.uuid4().hex[:24]}",
            "object": "payment_intent",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "status": "requires_confirmation",
            "metadata": data.get("metadata", {}),
        }
        sandbox.intents[intent["id"]] = intent
        if data.get("confirm") is True:
            tried_as = request.headers.get("idempotency-key") or intent["id"]
            return settle(intent, data.get("payment_method"), tried_as)
        return 200, intent

    def confirm(request: Request, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = sandbox.intents.get(request.path_params["intent"])
        if intent is None:
            return 404, {"error": {"code": "resource_missing"}}
        return settle(intent, data.get("payment_method"), intent["id"])

    def settle(intent: dict[str, Any], token: Any, tried_as: str) -> tuple[int, dict[str, Any]]:
        attempts = sandbox.confirm_attempts.get(tried_as, 0) + 1
        sandbox.confirm_attempts[tried_as] = attempts
        if token == "tok_unavailable" or (
            token == "tok_transient" and attempts <= TRANSIENT_FAILURES
        ):
            return 503, {"error": {"code": "processing_error", "message": "try again"}}
        if token in SUCCEEDING or token == "tok_transient":
            intent["status"] = "succeeded"
            return 200, intent
        intent["status"] = "requires_payment_method"
        code = DECLINES.get(str(token), "invalid_payment_method")
        return 402, {"error": {"code": code, "payment_intent": intent["id"]}}

    def refund(request: Request, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = sandbox.intents.get(str(data.get("payment_intent")))
        amount = data.get("amount")
        if intent is None or intent["status"] != "succeeded" or not isinstance(amount, int):
            return 400, {"error": {"code": "charge_not_refundable"}}
        if amount <= 0 or intent["amount_refunded"] + amount > intent["amount"]:
            return 400, {"error": {"code": "amount_too_large"}}
        intent["amount_refunded"] += amount
        return 200, {"id": f"re_{uuid.uuid4().hex[:24]}", "amount": amount, "status": "succeeded"}

    async def intents(request: Request) -> JSONResponse:
        return await idempotent(request, create_intent)

    async def confirms(request: Request) -> JSONResponse:
        return await idempotent(request, confirm)

    async def refunds(request: Request) -> JSONResponse:
        return await idempotent(request, refund)

    async def show(request: Request) -> JSONResponse:
        intent = sandbox.intents.get(request.path_params["intent"])
        return JSONResponse(intent) if intent else _error(404, "resource_missing", "no intent")

    app = Starlette(
        routes=[
            Route("/v1/payment_intents", intents, methods=["POST"]),
            Route("/v1/payment_intents/{intent}", show, methods=["GET"]),
            Route("/v1/payment_intents/{intent}/confirm", confirms, methods=["POST"]),
            Route("/v1/refunds", refunds, methods=["POST"]),
        ]
    )
    app.state.sandbox = sandbox
    return app


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
