"""Payments through a provider adapter; no card data is stored."""
