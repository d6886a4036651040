"""Promotions: coupon codes, the rules that decide whether a code applies, and redemption."""
