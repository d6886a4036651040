"""The embedded engine's own duties: writes replace and remove, other processes see commits,
an index of another schema is noticed."""

from __future__ import annotations

from pathlib import Path

from search.tantivy_backend import TantivyBackend, subtree_counts
from search.tantivy_storage import schema_matches
from tests.search.contract import doc, names


async def test_apply_replaces_and_removes(embedded: TantivyBackend) -> None:
    lamp = doc("Old Name")
    await embedded.apply([lamp])
    await embedded.apply([lamp.model_copy(update={"name": "New Name", "version": 2})])
    assert await names(embedded) == ["New Name"]
    await embedded.apply([], [lamp.id])
    assert await names(embedded) == []


async def test_reader_in_another_instance_sees_commits(
    embedded: TantivyBackend, tmp_path: Path
) -> None:
    reader = TantivyBackend(tmp_path)
    assert await names(reader) == []
    await embedded.apply([doc("Fresh Thing")])
    assert await names(reader) == ["Fresh Thing"]


def test_an_index_of_another_schema_is_noticed(tmp_path: Path) -> None:
    import tantivy

    old = tantivy.SchemaBuilder().add_text_field("id", stored=True).build()
    tantivy.Index(old, path=str(tmp_path))
    assert not schema_matches(tmp_path)
    assert schema_matches(tmp_path / "nothing-yet")


def test_each_category_counts_its_subtree_from_the_products_own_paths() -> None:
    own = [("home/lighting/lamps", 4), ("home/lighting", 1), ("home/garden", 2), ("toys", 3)]
    assert subtree_counts(own) == [
        ("home", 7),
        ("home/lighting", 5),
        ("home/lighting/lamps", 4),
        ("toys", 3),
        ("home/garden", 2),
    ]
