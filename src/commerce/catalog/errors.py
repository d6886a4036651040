from commerce.errors import Conflict, InvalidInput, NotFound


class ProductNotFound(NotFound):
    def __init__(self, product_id: object) -> None:
        super().__init__(f"No product with id {product_id}.")


class SkuTaken(Conflict):
    def __init__(self, sku: str) -> None:
        super().__init__(f"A product with SKU {sku!r} already exists.", sku=sku)


class UnknownCategory(InvalidInput):
    def __init__(self, slug: str) -> None:
        super().__init__(f"No category {slug!r}; see GET /api/categories.", category=slug)


class CategoryNotFound(NotFound):
    """Browsing a category that does not exist (creating a product in one is UnknownCategory)."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"No category {slug!r}; see GET /api/categories.", category=slug)
