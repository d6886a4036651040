"""Merchandisers tune search: synonyms and rules, live in every API process within a second
(each reads them again every STOREFRONT_SEARCH_TUNING_SECONDS, 0.5 s by default)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import Session
from api.problems import responses
from commerce.merchandising import service
from commerce.merchandising.schemas import RuleIn, RuleOut, SynonymIn, SynonymOut

router = APIRouter(prefix="/api/admin/search", tags=["search"])

ERRORS = responses(401, 403, 422)


@router.get("/synonyms", response_model=list[SynonymOut], responses=ERRORS)
async def list_synonyms(session: Session) -> list[SynonymOut]:
    """The merchandisers' synonyms, oldest first (the shipped file's are not listed)."""
    return await service.synonyms(session)


@router.post("/synonyms", status_code=201, response_model=SynonymOut, responses=ERRORS)
async def add_synonym(data: SynonymIn, session: Session) -> SynonymOut:
    """`{"terms": ["tv", "television"]}`: either finds both; with `"one_way": true` the first
    finds the rest only. Searches use it within a second, with no reindex."""
    return await service.add_synonym(session, data)


@router.delete("/synonyms/{synonym_id}", status_code=204, responses={**ERRORS, **responses(404)})
async def remove_synonym(synonym_id: uuid.UUID, session: Session) -> Response:
    await service.remove_synonym(session, synonym_id)
    return Response(status_code=204)


@router.get("/rules", response_model=list[RuleOut], responses=ERRORS)
async def list_rules(session: Session) -> list[RuleOut]:
    return await service.rules(session)


@router.post("/rules", status_code=201, response_model=RuleOut, responses=ERRORS)
async def add_rule(data: RuleIn, session: Session) -> RuleOut:
    """For a query (matched on its words, any case) or a category being browsed or searched:
    pin products to positions, bury them after the other matches, hide them, or boost
    brands and categories. Products, brands and categories must exist (422 names those
    that do not). Live within a second."""
    return await service.add_rule(session, data)


@router.delete("/rules/{rule_id}", status_code=204, responses={**ERRORS, **responses(404)})
async def remove_rule(rule_id: uuid.UUID, session: Session) -> Response:
    await service.remove_rule(session, rule_id)
    return Response(status_code=204)
