"""The embedded engine's index layout: fields, analyzers, and a product as tantivy stores it.

Text weights come from `search.ranking`, which the Elasticsearch API's mapping reads too.
"""

from __future__ import annotations

from typing import Any

import tantivy

from search.indexing import index_fields
from search.query import ProductDocument
from search.ranking import FUZZY_WEIGHTS, PHRASE_WEIGHTS, TEXT_WEIGHTS

TEXT_FIELDS = TEXT_WEIGHTS
#: The typo-tolerant twins (`name_plain`, `category_plain`, `brand_plain`).
FUZZY_FIELDS = {f"{field.removesuffix('_text')}_plain": w for field, w in FUZZY_WEIGHTS.items()}
PHRASE_FIELDS = PHRASE_WEIGHTS
OPTION_FIELDS = (
    "option_values",
    "option_values_in_stock",
    "option_combinations",
    "option_combinations_in_stock",
)
#: English words, stemmed and folded to ASCII ("Cafés" and "cafe" are one word).
ENGLISH = "storefront_en"
#: Words folded to ASCII but not stemmed: what typos are measured against.
PLAIN = "storefront_plain"


def analyzers() -> dict[str, tantivy.TextAnalyzer]:
    def words() -> tantivy.TextAnalyzerBuilder:
        return (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
        )

    return {
        ENGLISH: words().filter(tantivy.Filter.stemmer("english")).build(),
        PLAIN: words().build(),
    }


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for raw in ("id", "sku", "brand", "category"):
        builder.add_text_field(raw, stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("category_slugs", tokenizer_name="raw")
    # Single-valued: counting it is ten times faster than the paths of every ancestor, and
    # each ancestor's count is the sum of its subtree's (`subtree_counts`).
    builder.add_text_field("category_path", fast=True, tokenizer_name="raw")
    builder.add_text_field("name", stored=True, tokenizer_name=ENGLISH)
    for text in ("category_text", "brand_text", "description"):
        builder.add_text_field(text, tokenizer_name=ENGLISH)
    for plain in FUZZY_FIELDS:
        builder.add_text_field(plain, tokenizer_name=PLAIN)
    # Variants' options and the product's attributes: facet terms (`size=M`) and filter
    # terms (combinations), each for all variants and for those in stock (see
    # ProductDocument).
    for options in OPTION_FIELDS:
        builder.add_text_field(
            options, fast=options.startswith("option_values"), tokenizer_name="raw"
        )
    # Prices are exact US cents.
    builder.add_integer_field("price", stored=True, indexed=True, fast=True)
    builder.add_integer_field("price_max", stored=True)
    builder.add_float_field("rating", stored=True, fast=True)
    builder.add_unsigned_field("in_stock", indexed=True, fast=True)
    builder.add_integer_field("available", stored=True)
    builder.add_integer_field("created_at", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("units_sold", fast=True)
    builder.add_unsigned_field("version", stored=True)
    return builder.build()


def to_fields(doc: ProductDocument) -> dict[str, Any]:
    fields = index_fields(doc)
    del fields["category_paths"]
    plain = {f"{name}_plain": fields[f"{name}_text"] for name in ("category", "brand")}
    return {**fields, **plain, "name_plain": doc.name, "category_path": doc.category_path}
