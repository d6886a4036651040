"""`python -m storefront.cli`: how the launcher starts its children."""

from storefront.cli import app

app()
