"""What merchandisers send and see: synonym groups and search rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from commerce.catalog.schemas import Slug
from commerce.inputs import NotBoolean
from commerce.words import normalised

Phrase = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00]*\S[^\x00]*$"
    ),
]
BrandName = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class SynonymIn(BaseModel):
    """`["tv", "television"]`: either finds both. With `one_way`, the first finds the rest
    but not the other way round (`["sneakers", "trainers"]`)."""

    model_config = ConfigDict(extra="forbid")

    terms: list[Phrase] = Field(min_length=2, max_length=20)
    one_way: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _words(self) -> Self:
        self.terms = [normalised(term) for term in self.terms]
        if not all(self.terms):
            raise ValueError("every term needs a letter or digit")
        if len(set(self.terms)) < 2:
            raise ValueError("a synonym needs two different terms")
        return self


class SynonymOut(SynonymIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime


class Pin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    #: 1 is the first result.
    position: Annotated[int, Field(ge=1, le=100), NotBoolean]


class Boost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=120)
    #: Added to the relevance score of a matching product; the best text match scores ~10.
    weight: Annotated[float, Field(gt=0, le=100), NotBoolean]


class BrandBoost(Boost):
    value: BrandName


class CategoryBoost(Boost):
    value: Slug


class RuleActions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pin: list[Pin] = Field(default_factory=list, max_length=20)
    #: Shown after every other match.
    bury: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    #: Never shown for this query or category.
    hide: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    boost_brands: list[BrandBoost] = Field(default_factory=list, max_length=20)
    boost_categories: list[CategoryBoost] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        pinned = [pin.product_id for pin in self.pin]
        if len(set(pinned)) < len(pinned) or len({p.position for p in self.pin}) < len(pinned):
            raise ValueError("a product or a position is pinned twice")
        if set(pinned) & (set(self.bury) | set(self.hide)) or set(self.bury) & set(self.hide):
            raise ValueError("a product is pinned, buried or hidden more than once")
        if not (pinned or self.bury or self.hide or self.boost_brands or self.boost_categories):
            raise ValueError("a rule needs at least one action")
        return self


class RuleIn(RuleActions):
    """For one query (`query`, matched on its words, case-insensitively) or for browsing
    and searching one category (`category`, its slug): exactly one of the two."""

    query: Phrase | None = None
    category: Slug | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        if (self.query is None) == (self.category is None):
            raise ValueError("give exactly one of query and category")
        if self.query is not None:
            self.query = normalised(self.query)
            if not self.query:
                raise ValueError("the query needs a letter or digit")
        return self

    def actions(self) -> RuleActions:
        return RuleActions.model_validate(self.model_dump(exclude={"query", "category"}))


class RuleOut(RuleIn):
    id: uuid.UUID
    created_at: datetime
