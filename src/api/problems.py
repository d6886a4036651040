"""RFC 9457 problem details: the one error shape of the API."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException

from api.access import api_routes
from commerce.errors import DomainError
from search.engine_clients import EngineUnavailable

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An RFC 9457 problem document; extension members (e.g. `checks`) are kept."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


RESERVED = frozenset({"type", "title", "status", "detail", "instance"})


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, instance=request.url.path, **extra)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        # Extension members say what the client can act on (RFC 9457 §3.2): the SKU taken,
        # the rows of a file that failed, what is on hand.
        extra = {k: v for k, v in error.extra.items() if k not in RESERVED}
        return problem(
            request, error.status, error.title, error.detail, headers=error.headers(), **extra
        )

    # FastAPI's request validation and our own models (e.g. ProductQuery) fail alike.
    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def invalid_request(
        request: Request, error: RequestValidationError | ValidationError
    ) -> JSONResponse:
        errors = _validation_errors(error.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(
                request, 400, "Malformed body", "The body is not valid JSON.", errors=errors
            )
        return problem(
            request,
            422,
            "Invalid request",
            "The request did not validate.",
            errors=errors,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return problem(
            request,
            error.status_code,
            _title(error.status_code),
            str(error.detail),
            headers=dict(error.headers or {}),
        )

    @app.exception_handler(EngineUnavailable)
    async def engine_away(request: Request, error: EngineUnavailable) -> JSONResponse:
        log.warning("the search engine is away on %s: %s", request.url.path, error)
        return problem(
            request,
            503,
            "Search unavailable",
            "The search engine is not answering right now; try again in a moment.",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(request, 500, "Internal server error", "Something failed on our side.")


def _title(status: int) -> str:
    from http import HTTPStatus

    if status == 413:  # RFC 9110's name; Python before 3.13 still says "Request Entity ..."
        return "Content too large"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: OpenAPI documentation of the problem responses a route may give.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "content": {PROBLEM_JSON: {}}} for status in statuses}


def document_malformed_bodies(app: FastAPI) -> None:
    """Every route that reads a JSON body can answer 400 for a body that is not JSON, and
    413 for one over the size limit."""
    for route in api_routes(app.routes):
        if route.body_field is not None:
            route.responses = {**responses(400, 413), **route.responses}
