"""PostgreSQL text cannot hold NUL characters: refuse them at the edge with a 422.

One app-wide dependency covers every route's query, path and JSON body, so no field can
forget it and no database error can turn such input into a 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from commerce.errors import InvalidInput

NUL = "\x00"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


async def reject_nul_characters(request: Request) -> None:
    """422 when any query parameter, path parameter or JSON string holds U+0000."""
    parameters = [*request.query_params.multi_items(), *request.path_params.items()]
    if any(_holds_nul(name) or _holds_nul(value) for name, value in parameters):
        raise InvalidInput("Text must not contain NUL (U+0000) characters.")
    body = await request.body()  # cached by Starlette: the route reads the same bytes
    if b"\\u0000" in body or b"\x00" in body:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return  # not JSON: the route's own validation answers
        if _holds_nul(decoded):
            raise InvalidInput("Text must not contain NUL (U+0000) characters.")


#: What `reject_nul_characters` enforces, as JSON Schema (an ECMA-262 regular expression).
NO_NUL = "^[^\\u0000]*$"


def document_no_nul(schema: Any) -> None:
    """Say in the OpenAPI document what the guard enforces: every free-form string the API
    takes (no pattern, format or enum of its own) holds no NUL character."""
    if isinstance(schema, list):
        for item in schema:
            document_no_nul(item)
        return
    if not isinstance(schema, dict):
        return
    free_form = not ({"pattern", "format", "enum", "const"} & schema.keys())
    if schema.get("type") == "string" and free_form:
        schema["pattern"] = NO_NUL
    for value in schema.values():
        document_no_nul(value)
