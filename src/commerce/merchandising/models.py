"""Merchandisers' search tuning: synonyms and rules, read by every API process."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from commerce.db import Base


class SearchSynonym(Base):
    __tablename__ = "search_synonyms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    #: Words or phrases, lower-cased: all mean the same, or (one_way) the first means the rest.
    terms: Mapped[list[str]] = mapped_column(JSONB)
    one_way: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SearchRule(Base):
    __tablename__ = "search_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    #: The normalised query it applies to (words joined by one space), or a category slug.
    query: Mapped[str | None] = mapped_column(String(200), index=True)
    category: Mapped[str | None] = mapped_column(String(80), index=True)
    #: Pins, buries, hides and boosts (see commerce.merchandising.schemas.RuleActions).
    actions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
