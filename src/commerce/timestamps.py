"""Timestamps as the API takes them: ISO 8601 with a time zone, and nothing else.

Pydantic also reads numbers as seconds since 1970 (`0.5`, `"0.5"`); the OpenAPI document
says `date-time`, so the server refuses what the document does not allow.
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
