"""Carts: what a shopper means to buy, kept in Redis, checked against stock and prices."""
