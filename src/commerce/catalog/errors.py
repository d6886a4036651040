from commerce.errors import Conflict, InvalidInput, NotFound


class ProductNotFound(NotFound):
    def __init__(self, product_id: object) -> None:
        super().__init__(f"No product with id {product_id}.")


class SkuTaken(Conflict):
    def __init__(self, sku: str) -> None:
        super().__init__(f"A product or variant with SKU {sku!r} already exists.", sku=sku)


class VariantNotFound(NotFound):
    def __init__(self, variant_id: object) -> None:
        super().__init__(f"No variant with id {variant_id} on this product.")


class VariantExists(Conflict):
    def __init__(self, options: dict[str, str]) -> None:
        combination = ", ".join(f"{name} = {value}" for name, value in options.items())
        super().__init__(
            f"The product already has a variant with {combination or 'no options'}.",
            options=options,
        )


class LastVariant(Conflict):
    def __init__(self) -> None:
        super().__init__("A product keeps at least one variant; delete the product instead.")


class VariantInStock(Conflict):
    def __init__(self, sku: str, on_hand: int) -> None:
        super().__init__(
            f"Variant {sku!r} still has {on_hand} units on hand; set its stock to 0 first.",
            sku=sku,
            on_hand=on_hand,
        )


class OptionsMismatch(InvalidInput):
    """A variant's option names must be exactly the product's."""

    def __init__(self, declared: list[str], given: dict[str, str]) -> None:
        wanted = ", ".join(declared) if declared else "none (the product declares no options)"
        super().__init__(
            f"A variant gives a value for each of the product's options: {wanted}; "
            f"got {', '.join(given) or 'none'}.",
            options=declared,
        )


class VariantsRequired(InvalidInput):
    def __init__(self, declared: list[str]) -> None:
        super().__init__(
            f"A product with options ({', '.join(declared)}) needs at least one variant.",
            options=declared,
        )


class UnknownCategory(InvalidInput):
    def __init__(self, slug: str) -> None:
        super().__init__(f"No category {slug!r}; see GET /api/categories.", category=slug)


class CategoryNotFound(NotFound):
    """Browsing a category that does not exist (creating a product in one is UnknownCategory)."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"No category {slug!r}; see GET /api/categories.", category=slug)
