"""A search's query string and headers, read as one pydantic model.

FastAPI 0.165 checks parameters one at a time and re-inspects each one's annotation on every
request (fastapi#13824): for the search route's fifteen parameters that was most of a cached
search's time. Here the query string is validated in one `model_validate` and the route's
OpenAPI parameters are written from the same model, so the document and the server agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic import WithJsonSchema as Documented

from api.deps import CURRENCY_SCHEMA, chosen_currency, client_address, price_scale
from commerce.tracking.schemas import SessionId
from commerce.tracking.searches import SearchLog
from search.prices import PriceScale
from search.query import Sort
from search.result_cache import SearchResultCache

#: A price bound in the chosen currency; documented as a number (an empty string is not one).
PriceBound = Annotated[
    Decimal,
    Field(ge=0, le=10**9, allow_inf_nan=False),
    Documented({"type": "number", "minimum": 0, "maximum": 1_000_000_000}),
]
BrandName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
CategoryName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
#: `size:M`: a variant option and a value; repeat for more (OR within an option, AND across).
OptionFilter = Annotated[str, StringConstraints(pattern=r"^[^:=|]{1,32}:[^=|]{1,64}$")]


class SearchParams(BaseModel):
    """The query string of `GET /api/search` (others, such as tracking tags, are ignored)."""

    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, Field(max_length=200)] = ""
    brand: Annotated[list[BrandName], Field(max_length=20)] = []
    category: Annotated[list[CategoryName], Field(max_length=20)] = []
    price_min: PriceBound | None = None
    price_max: PriceBound | None = None
    in_stock: bool | None = None
    option: Annotated[list[OptionFilter], Field(max_length=20)] = []
    sort: Sort = Sort.relevance
    page: Annotated[int, Field(ge=1, le=500)] = 1
    size: Annotated[int, Field(ge=1, le=100)] = 20
    currency: Annotated[str | None, Field(max_length=16), CURRENCY_SCHEMA] = None


REPEATED = frozenset({"brand", "category", "option"})
PARAMS = TypeAdapter(SearchParams)
SESSION_ID: TypeAdapter[str] = TypeAdapter(SessionId)
T = TypeVar("T")


@dataclass(frozen=True)
class SearchRequest:
    """A search as asked, with what answering and recording it needs from the process."""

    params: SearchParams
    scale: PriceScale
    session_id: str | None
    address: str
    results: SearchResultCache
    searches: SearchLog


async def search_request(request: Request) -> SearchRequest:
    """The search's parameters (422 naming each bad one, as FastAPI would), its currency's
    price scale and the shopper's session id (`X-Session-Id`)."""
    params = _validated(_query_values(request), ("query",), PARAMS)
    session_id = request.headers.get("x-session-id")
    if session_id is not None:
        session_id = _validated(session_id, ("header", "x-session-id"), SESSION_ID)
    currency = await chosen_currency(params.currency, request.headers.get("accept-currency"))
    state = request.app.state
    return SearchRequest(
        params=params,
        scale=await price_scale(request, currency),
        session_id=session_id,
        address=await client_address(request),
        results=state.search_results,
        searches=state.searches,
    )


def _query_values(request: Request) -> dict[str, Any]:
    given: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name in REPEATED:
            given.setdefault(name, []).append(value)
        else:
            given[name] = value  # the last one, as Starlette's query_params[name]
    return given


def _validated(value: Any, where: tuple[str, ...], model: TypeAdapter[T]) -> T:
    try:
        return model.validate_python(value)
    except ValidationError as invalid:
        errors = [{**error, "loc": (*where, *error["loc"])} for error in invalid.errors()]
        raise RequestValidationError(errors) from invalid


def openapi_parameters() -> list[dict[str, Any]]:
    """The route's parameters for OpenAPI, from the same model the server validates with."""
    schema = SearchParams.model_json_schema()
    definitions = schema.get("$defs", {})
    parameters = [
        {"name": name, "in": "query", "required": False, "schema": _inline(field, definitions)}
        for name, field in schema["properties"].items()
    ]
    parameters.append(
        {
            "name": "accept-currency",
            "in": "header",
            "required": False,
            "schema": CURRENCY_SCHEMA.json_schema,
        }
    )
    session = SESSION_ID.json_schema()
    parameters.append(
        {"name": "x-session-id", "in": "header", "required": False, "schema": session}
    )
    return parameters


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """The schema with its `$ref`s to the model's own definitions written out."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema
