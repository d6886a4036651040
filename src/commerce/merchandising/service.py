"""Merchandisers' synonyms and rules: stored here, applied by search (search.tuning).

A rule may only name live products, brands and categories when it is made; a product
deleted later simply stops appearing where it was pinned.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.repository import CatalogRepository
from commerce.merchandising.errors import RuleNotFound, SynonymNotFound, UnknownTargets
from commerce.merchandising.models import SearchRule, SearchSynonym
from commerce.merchandising.repository import MerchandisingRepository
from commerce.merchandising.schemas import RuleIn, RuleOut, SynonymIn, SynonymOut


async def add_synonym(session: AsyncSession, data: SynonymIn) -> SynonymOut:
    synonym = SearchSynonym(terms=data.terms, one_way=data.one_way)
    session.add(synonym)
    await session.flush()
    await session.refresh(synonym)
    return SynonymOut.model_validate(synonym)


async def synonyms(session: AsyncSession) -> list[SynonymOut]:
    rows = await MerchandisingRepository(session).synonyms()
    return [SynonymOut.model_validate(row) for row in rows]


async def remove_synonym(session: AsyncSession, synonym_id: uuid.UUID) -> None:
    if not await MerchandisingRepository(session).remove_synonym(synonym_id):
        raise SynonymNotFound(synonym_id)


async def add_rule(session: AsyncSession, data: RuleIn) -> RuleOut:
    await _check_targets(session, data)
    rule = SearchRule(
        query=data.query, category=data.category, actions=data.actions().model_dump(mode="json")
    )
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    return _rule_out(rule)


async def rules(session: AsyncSession) -> list[RuleOut]:
    return [_rule_out(row) for row in await MerchandisingRepository(session).rules()]


async def remove_rule(session: AsyncSession, rule_id: uuid.UUID) -> None:
    if not await MerchandisingRepository(session).remove_rule(rule_id):
        raise RuleNotFound(rule_id)


def _rule_out(rule: SearchRule) -> RuleOut:
    return RuleOut.model_validate(
        {
            **rule.actions,
            "id": rule.id,
            "query": rule.query,
            "category": rule.category,
            "created_at": rule.created_at,
        }
    )


async def _check_targets(session: AsyncSession, data: RuleIn) -> None:
    products = {pin.product_id for pin in data.pin} | set(data.bury) | set(data.hide)
    brands = {boost.value for boost in data.boost_brands}
    categories = {boost.value for boost in data.boost_categories}
    if data.category:
        categories.add(data.category)
    live, named, slugs = await CatalogRepository(session).existing(products, brands, categories)
    unknown = {
        "products": sorted(str(p) for p in products - live),
        "brands": sorted(brands - named),
        "categories": sorted(categories - slugs),
    }
    if any(unknown.values()):
        listed = "; ".join(f"{kind}: {', '.join(v)}" for kind, v in unknown.items() if v)
        raise UnknownTargets(f"The catalog has no such {listed}.", unknown=unknown)
