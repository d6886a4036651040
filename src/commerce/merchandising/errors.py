from __future__ import annotations

from commerce.errors import InvalidInput, NotFound


class SynonymNotFound(NotFound):
    def __init__(self, synonym_id: object) -> None:
        super().__init__(f"No synonym with id {synonym_id}.")


class RuleNotFound(NotFound):
    def __init__(self, rule_id: object) -> None:
        super().__init__(f"No search rule with id {rule_id}.")


class UnknownTargets(InvalidInput):
    """A rule names products, brands or categories the catalog does not have."""

    title = "Unknown products, brands or categories"
