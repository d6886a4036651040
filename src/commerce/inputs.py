"""JSON values read as the OpenAPI document describes them, where pydantic's lax mode reads
more: a number is not a moment in 1970 (`0.5`), `true` is not the number 1. The server then
refuses what the document does not allow. (Strict mode would go too far: JSON Schema counts
59.0 as an integer.)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


def _iso_8601_only(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_8601.match(value)):
        return value
    raise ValueError("an ISO 8601 date-time with a time zone, e.g. 2026-12-07T09:00:00Z")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_8601_only)]


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


#: For a number field: `true` and `false` are not numbers.
NotBoolean = BeforeValidator(_not_a_boolean)
