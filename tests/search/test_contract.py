"""The search contract every backend meets: text, typos, synonyms, filters, facets, prices,
sorts, pages and the merchandiser's rules."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from commerce.merchandising.schemas import RuleOut, SynonymIn
from search import service
from search.backend import SearchBackend
from search.prices import PriceScale
from search.query import MAX_RESULT_WINDOW, Sort
from search.tuning import tuning_of
from tests.search.contract import NOW, doc, find, names, variant

EUR = PriceScale("EUR", Decimal("0.8"), date(2026, 11, 20))


# -- text ---------------------------------------------------------------------------------


async def test_name_outweighs_category_outweighs_description(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc("Plain Box", description="a lantern inside"),
            doc("Lantern Deluxe"),
            doc("Plain Crate", category="lantern", category_path="home/lantern"),
        ]
    )
    assert await names(backend, q="lantern") == ["Lantern Deluxe", "Plain Crate", "Plain Box"]


async def test_typos_allowed_by_word_length(backend: SearchBackend) -> None:
    await backend.apply(
        [doc("Desk Lamp"), doc("Noise Cancelling Headphones"), doc("Oak Bed"), doc("Lamb Rug")]
    )
    assert await names(backend, q="lmap") == ["Desk Lamp"], "4 letters: one edit"
    assert await names(backend, q="headphnoes") == ["Noise Cancelling Headphones"], "2 edits"
    assert await names(backend, q="oat") == [], "3 letters: exact only"
    assert await names(backend, q="lamb") == ["Lamb Rug", "Desk Lamp"], "exact above a typo"
    assert await names(backend, q="lpma") == [], "two edits in 4 letters is too many"


async def test_stems_and_accents_are_ignored(backend: SearchBackend) -> None:
    await backend.apply([doc("Café Table"), doc("Running Shoes"), doc("Crème Brûlée Set")])
    assert await names(backend, q="cafe") == ["Café Table"]
    assert await names(backend, q="CAFÉS") == ["Café Table"]
    assert await names(backend, q="run shoe") == ["Running Shoes"]
    assert await names(backend, q="creme brulee") == ["Crème Brûlée Set"]


async def test_the_query_as_a_phrase_ranks_first(backend: SearchBackend) -> None:
    await backend.apply([doc("Lamp Desk", rating=5.0), doc("Desk Lamp", rating=3.0)])
    assert await names(backend, q="desk lamp") == ["Desk Lamp", "Lamp Desk"]


async def test_every_word_must_match_or_the_exact_sku(backend: SearchBackend) -> None:
    await backend.apply([doc("Desk Lamp", sku="LMP-001"), doc("Floor Lamp")])
    assert await names(backend, q="desk lamp") == ["Desk Lamp"]
    assert await names(backend, q="LMP-001") == ["Desk Lamp"]


async def test_a_sku_matches_whatever_its_case(backend: SearchBackend) -> None:
    await backend.apply([doc("Desk Lamp", sku="LMP-001"), doc("Floor Lamp")])
    assert await names(backend, q="lmp-001") == ["Desk Lamp"]


async def test_when_no_product_has_every_word_those_with_most_words_come_first(
    backend: SearchBackend,
) -> None:
    await backend.apply(
        [doc("Black Jacket", rating=3.0), doc("Black Mug", rating=5.0), doc("Green Sofa")]
    )
    strict = await find(backend, q="black jacket")
    assert [h.name for h in strict.items] == ["Black Jacket"] and strict.all_words_matched

    relaxed = await find(backend, q="black leather jacket")
    assert [h.name for h in relaxed.items] == ["Black Jacket"], "two of three words"
    assert not relaxed.all_words_matched
    one_word = await find(backend, q="black leather coat")
    assert sorted(h.name for h in one_word.items) == ["Black Jacket", "Black Mug"]
    assert (await find(backend, q="purple leather")).total == 0, "no word matches: nothing"


async def test_query_syntax_is_only_words(backend: SearchBackend) -> None:
    await backend.apply([doc("Desk Lamp")])
    for hostile in ['name:(desk OR x) AND "lamp', "lamp~2^9 -desk", "*:*", "\\/[]{}!?", "((("]:
        result = await find(backend, q=hostile)
        assert result.total in (0, 1)
    assert await names(backend, q='"desk" +lamp!') == ["Desk Lamp"]


# -- synonyms ------------------------------------------------------------------------------


async def test_synonyms_both_ways_one_way_and_phrases(backend: SearchBackend) -> None:
    await backend.apply(
        [doc("Smart Television"), doc("Trail Trainers"), doc("Sneakers Deluxe"), doc("Plain Tee")]
    )
    tuning = tuning_of(
        [],
        [
            SynonymIn(terms=["tv", "television"]),
            SynonymIn(terms=["sneakers", "trainers"], one_way=True),
            SynonymIn(terms=["t shirt", "tee"]),
        ],
        [],
    )
    assert await names(backend, tuning, q="smart tv") == ["Smart Television"]
    assert await names(backend, tuning, q="televisions") == ["Smart Television"]
    assert sorted(await names(backend, tuning, q="sneakers")) == [
        "Sneakers Deluxe",
        "Trail Trainers",
    ]
    assert await names(backend, tuning, q="trainers") == ["Trail Trainers"], "one way only"
    assert await names(backend, tuning, q="t-shirt") == ["Plain Tee"]
    assert await names(backend, q="tv") == [], "no synonyms, no match"


# -- filters and facets --------------------------------------------------------------------


async def test_facets_ignore_their_own_filter(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc("Lamp A", brand="Acme", price=Decimal("20.00")),
            doc("Lamp B", brand="Beam", price=Decimal("80.00"), available=0),
            doc("Lamp C", brand="Beam", price=Decimal("300.00")),
            doc(
                "Lamp D",
                brand="Cole",
                price=Decimal("30.00"),
                category="garden",
                category_path="home/garden",
            ),
        ]
    )
    result = await find(backend, q="lamp", brands=("Beam",), price_max=Decimal("100"))
    assert [hit.name for hit in result.items] == ["Lamp B"]
    # Brands ignore the brand filter but keep the price filter (C is 300, out).
    assert {f.value: f.count for f in result.facets.brands} == {"Acme": 1, "Beam": 1, "Cole": 1}
    # Prices ignore the price filter but keep the brand filter (B 80, C 300).
    buckets = {(b.min, b.max): b.count for b in result.facets.price if b.count}
    assert buckets == {(Decimal(50), Decimal(100)): 1, (Decimal(250), Decimal(500)): 1}
    # Categories and stock keep both filters.
    assert {c.value: c.count for c in result.facets.categories} == {"home": 1, "lighting": 1}
    assert (result.facets.stock.in_stock, result.facets.stock.out_of_stock) == (0, 1)

    stocked = await find(backend, q="lamp", in_stock=True)
    assert sorted(hit.name for hit in stocked.items) == ["Lamp A", "Lamp C", "Lamp D"]
    assert (stocked.facets.stock.in_stock, stocked.facets.stock.out_of_stock) == (3, 1)


async def test_several_values_of_one_filter_are_or_across_filters_and(
    backend: SearchBackend,
) -> None:
    await backend.apply(
        [
            doc("Lamp A", brand="Acme"),
            doc("Lamp B", brand="Beam"),
            doc("Lamp C", brand="Cole"),
            doc("Lamp D", brand="Beam", category="garden", category_path="home/garden"),
            doc("Chair", brand="Acme", category="chairs", category_path="home/furniture/chairs"),
        ]
    )
    assert await names(backend, q="lamp", brands=("Acme", "Beam"), sort=Sort.newest) in (
        ["Lamp A", "Lamp B", "Lamp D"],
        ["Lamp A", "Lamp D", "Lamp B"],
        ["Lamp B", "Lamp A", "Lamp D"],
        ["Lamp B", "Lamp D", "Lamp A"],
        ["Lamp D", "Lamp A", "Lamp B"],
        ["Lamp D", "Lamp B", "Lamp A"],
    )
    both = await find(backend, brands=("Beam", "Acme"), categories=("garden", "furniture"))
    assert sorted(hit.name for hit in both.items) == ["Chair", "Lamp D"]


async def test_categories_count_their_subtree_and_name_their_parent(
    backend: SearchBackend,
) -> None:
    await backend.apply(
        [
            doc("Desk Lamp"),
            doc("Chair", category="chairs", category_path="home/furniture/chairs"),
            doc("Table", category="tables", category_path="home/furniture/tables"),
            doc("Tent", category="camping", category_path="sports/camping"),
        ]
    )
    result = await find(backend, categories=("furniture",))
    assert sorted(hit.name for hit in result.items) == ["Chair", "Table"]
    counts = {(c.path, c.parent): c.count for c in result.facets.categories}
    assert counts == {
        ("home", None): 3,
        ("home/lighting", "home"): 1,
        ("home/furniture", "home"): 2,
        ("home/furniture/chairs", "furniture"): 1,
        ("home/furniture/tables", "furniture"): 1,
        ("sports", None): 1,
        ("sports/camping", "sports"): 1,
    }


async def test_attributes_and_options_facet_and_filter(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc(
                "Tee",
                attributes={"colour": "blue", "material": "cotton"},
                variants=[variant(size="M", available=0), variant(size="L", available=3)],
                available=3,
            ),
            doc("Shirt", attributes={"colour": "red"}, variants=[variant(size="M")], available=1),
            doc("Scarf", attributes={"colour": "blue"}),
        ]
    )
    everything = await find(backend)
    colours = {f.value: f.count for f in everything.facets.options["colour"]}
    assert colours == {"blue": 2, "red": 1}
    assert {f.value: f.count for f in everything.facets.options["size"]} == {"M": 2, "L": 1}

    blue_m = await find(backend, options={"colour": ("blue",), "size": ("M",)})
    assert [hit.name for hit in blue_m.items] == ["Tee"]
    # Each option's facet ignores its own filter: sizes of blue things, colours of size M.
    assert {f.value: f.count for f in blue_m.facets.options["size"]} == {"M": 1, "L": 1}
    assert {f.value: f.count for f in blue_m.facets.options["colour"]} == {"blue": 1, "red": 1}
    assert await names(backend, options={"colour": ("blue",), "size": ("M",)}, in_stock=True) == []
    either = await find(backend, options={"colour": ("red", "blue")}, sort=Sort.price_asc)
    assert either.total == 3


# -- prices --------------------------------------------------------------------------------


async def test_prices_are_exact_cents_and_bounds_are_inclusive(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc("Cheap", price=Decimal("19.99")),
            doc("Even", price=Decimal("20.00")),
            doc("Dear", price=Decimal("20.01")),
        ]
    )
    assert sorted(await names(backend, price_min=Decimal("19.99"), price_max=Decimal("20"))) == [
        "Cheap",
        "Even",
    ]
    result = await find(backend, q="cheap")
    assert result.items[0].price == Decimal("19.99")
    assert (result.currency, result.rate_date) == ("USD", None)


async def test_another_currency_converts_prices_filters_and_buckets(
    backend: SearchBackend,
) -> None:
    await backend.apply(
        [
            doc("Lamp A", price=Decimal("124.99")),  # EUR 99.99
            doc("Lamp B", price=Decimal("125.00")),  # EUR 100.00
            doc("Lamp C", price=Decimal("250.00")),  # EUR 200.00
            doc("Lamp D", price=Decimal("250.01")),  # EUR 200.01 (200.008 rounded)
        ]
    )
    result = await find(
        backend,
        scale=EUR,
        currency="EUR",
        price_min=Decimal(100),
        price_max=Decimal(200),
        sort=Sort.price_asc,
    )
    assert [(hit.name, hit.price) for hit in result.items] == [
        ("Lamp B", Decimal("100.00")),
        ("Lamp C", Decimal("200.00")),
    ]
    assert (result.currency, result.rate_date) == ("EUR", date(2026, 11, 20))
    edges = [bucket.min for bucket in result.facets.price]
    assert edges == [None, 20, 50, 100, 200, 500, 1000], "round edges in euros"
    counts = {(int(b.min or 0), int(b.max or 0)): b.count for b in result.facets.price if b.count}
    # The price facet ignores the price filter; a bucket holds its lower edge, not its upper.
    assert counts == {(50, 100): 1, (100, 200): 1, (200, 500): 2}


# -- sort and pages ------------------------------------------------------------------------


async def test_sorts_and_pages(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc(
                f"Item {n}",
                price=Decimal(10 + n),
                rating=float(n % 5),
                created_at=NOW - timedelta(days=n),
                units_sold=(n * 7) % 25,
            )
            for n in range(25)
        ]
    )
    assert await names(backend, sort=Sort.price_asc, size=3) == ["Item 0", "Item 1", "Item 2"]
    assert await names(backend, sort=Sort.price_desc, size=2) == ["Item 24", "Item 23"]
    assert await names(backend, sort=Sort.newest, size=1) == ["Item 0"]
    # Units sold are (7n mod 25): 24 for item 7, 23 for item 14, 22 for item 21.
    assert await names(backend, sort=Sort.best_selling, size=3) == ["Item 7", "Item 14", "Item 21"]
    page_two = await find(backend, sort=Sort.price_asc, page=2, size=10)
    assert [hit.name for hit in page_two.items][:2] == ["Item 10", "Item 11"]
    assert page_two.total == 25
    past_the_end = await find(backend, sort=Sort.price_asc, page=4, size=10)
    assert (past_the_end.items, past_the_end.total) == ([], 25)
    assert MAX_RESULT_WINDOW >= 10_000


async def test_relevance_ties_break_on_rating(backend: SearchBackend) -> None:
    await backend.apply([doc("Desk Lamp", rating=3.0), doc("Desk Lamp", rating=4.8)])
    hits = (await find(backend, q="desk lamp")).items
    assert [hit.rating for hit in hits] == [4.8, 3.0]


# -- merchandising rules -------------------------------------------------------------------


def rule(**fields: object) -> RuleOut:
    return RuleOut.model_validate({"id": uuid.uuid4(), "created_at": NOW, **fields})


async def test_rules_pin_bury_hide_and_boost(backend: SearchBackend) -> None:
    lamps = [
        doc(f"Lamp {n}", rating=5.0 - n / 10, brand="Beam" if n == 5 else "Acme") for n in range(8)
    ]
    shade = doc("Shade", description="fits any lamp base", rating=1.0)
    await backend.apply([*lamps, shade])
    baseline = await names(backend, q="lamp")
    assert baseline[:2] == ["Lamp 0", "Lamp 1"] and baseline[-1] == "Shade"

    tuning = tuning_of(
        [],
        [],
        [
            rule(
                query="LAMP",
                pin=[
                    {"product_id": str(shade.id), "position": 1},
                    {"product_id": str(lamps[7].id), "position": 3},
                ],
                bury=[str(lamps[0].id)],
                hide=[str(lamps[1].id)],
            )
        ],
    )
    placed = await find(backend, tuning, q="lamp")
    shown = [hit.name for hit in placed.items]
    assert shown == ["Shade", "Lamp 2", "Lamp 7", "Lamp 3", "Lamp 4", "Lamp 5", "Lamp 6", "Lamp 0"]
    assert placed.total == 8, "the hidden lamp is not counted"
    assert sum(f.count for f in placed.facets.brands) == 8

    # Pages see the same order.
    pages = [await names(backend, tuning, q="lamp", page=p, size=3) for p in (1, 2, 3)]
    assert [name for page in pages for name in page] == shown
    # Another query is untouched.
    assert "Lamp 1" in await names(backend, tuning, q="lamp 1")

    boosted = tuning_of(
        [], [], [rule(query="lamp", boost_brands=[{"value": "Beam", "weight": 50}])]
    )
    assert (await names(backend, boosted, q="lamp"))[0] == "Lamp 5"


async def test_pins_respect_filters_and_missing_products(backend: SearchBackend) -> None:
    lamp, gone = doc("Desk Lamp"), doc("Gone Lamp")
    pricey = doc("Pricey Lamp", price=Decimal("500"))
    await backend.apply([lamp, pricey])
    tuning = tuning_of(
        [],
        [],
        [
            rule(
                category="lighting",
                pin=[
                    {"product_id": str(gone.id), "position": 1},
                    {"product_id": str(pricey.id), "position": 2},
                ],
            )
        ],
    )
    browsing = await find(backend, tuning, categories=("lighting",), sort=Sort.price_asc)
    assert [hit.name for hit in browsing.items] == ["Desk Lamp", "Pricey Lamp"]
    cheap = await find(backend, tuning, categories=("lighting",), price_max=Decimal(100))
    assert [hit.name for hit in cheap.items] == ["Desk Lamp"]
    assert cheap.total == 1


@pytest.mark.parametrize("page", [1, 2])
async def test_a_pin_beyond_the_results_comes_last(backend: SearchBackend, page: int) -> None:
    lamps = [doc(f"Lamp {n}", rating=5 - n) for n in range(3)]
    await backend.apply(lamps)
    tuning = tuning_of(
        [], [], [rule(query="lamp", pin=[{"product_id": str(lamps[2].id), "position": 50}])]
    )
    result = await find(backend, tuning, q="lamp", page=page, size=2)
    expected = [["Lamp 0", "Lamp 1"], ["Lamp 2"]][page - 1]
    assert [hit.name for hit in result.items] == expected
    assert result.total == 3


# -- suggest -------------------------------------------------------------------------------


async def test_suggest_completes_products_brands_and_categories(backend: SearchBackend) -> None:
    await backend.apply(
        [
            doc(
                "Headphones Pro",
                brand="Helix",
                category="headphones",
                category_path="electronics/headphones",
                units_sold=3,
            ),
            doc("Head Torch", brand="Acme", category="camping", category_path="sports/camping"),
            doc("Desk Lamp", brand="Heliotrope"),
            *[doc(f"Heat Pad {n}", brand="Warmth") for n in range(12)],
        ]
    )
    found = await service.suggest(backend, "hea")
    assert {p.name for p in found.products} >= {"Headphones Pro", "Head Torch"}
    assert len(found.products) + len(found.brands) + len(found.categories) <= 10
    assert [c.path for c in found.categories] == ["electronics/headphones"]
    assert found.brands == []  # Helix, Heliotrope: "hel", not "hea"

    brands = await service.suggest(backend, "heli")
    assert sorted(b.value for b in brands.brands) == ["Heliotrope", "Helix"]

    typo = await service.suggest(backend, "haedp")
    assert [p.name for p in typo.products] == ["Headphones Pro"], "one edit from 4 letters on"
    assert (await service.suggest(backend, "hae")).products == [], "no typos in 3 letters"

    tuning = tuning_of([], [SynonymIn(terms=["earphones", "headphones"])], [])
    meant = await service.suggest(backend, "earph", tuning)
    assert [p.name for p in meant.products] == ["Headphones Pro"], "earphones: headphones"
    assert [c.path for c in meant.categories] == ["electronics/headphones"]
    assert (await service.suggest(backend, "earph")).products == [], "no synonym, no match"

    narrowed = await service.suggest(backend, "desk la")
    assert [p.name for p in narrowed.products] == ["Desk Lamp"]
    assert (await service.suggest(backend, "  ?! ")).products == []
