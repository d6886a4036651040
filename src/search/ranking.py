"""How a product's text is weighed and how many facet values are counted: one place both
engines read, so tantivy and the Elasticsearch API rank alike (the judged queries check it)."""

from __future__ import annotations

#: Text fields and their weight: name over category (and brand) over description.
TEXT_WEIGHTS = {"name": 3.0, "category_text": 2.0, "brand_text": 2.0, "description": 1.0}
#: The heavier text fields also match with typos (on twins folded but not stemmed); a fuzzy
#: match scores this fraction of an exact one.
FUZZY_WEIGHTS = {"name": 3.0, "category_text": 2.0, "brand_text": 2.0}
FUZZY_WEIGHT = 0.3
#: Phrase fields for a multi-word synonym, and the boost of the whole query as a phrase.
PHRASE_WEIGHTS = {"name": 3.0, "description": 1.0}
PHRASE_BOOST = 2.0
#: A query that is a SKU puts that product first.
SKU_BOOST = 10.0
FACET_SIZE = 50
CATEGORY_FACET_SIZE = 200
OPTION_FACET_SIZE = 200


def boosted(weights: dict[str, float], suffix: str = "") -> tuple[str, ...]:
    """Fields as the Elasticsearch API names them with a boost: `name^3`, `description`."""
    return tuple(
        f"{field}{suffix}" + ("" if weight == 1 else f"^{weight:g}")
        for field, weight in weights.items()
    )
