"""How the shop splits text into words. Search matches a shopper's query on these words, and
merchandising stores rules and synonyms by them, so the two always agree; it sits in
commerce's shared core because both packages read it and commerce is the lower one."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
#: Words of a query that count; longer queries add noise, not recall.
MAX_WORDS = 12


def words(text: str) -> list[str]:
    """The lower-cased words of a text, at most 12; punctuation and query syntax dropped."""
    return [token.lower() for token in WORD.findall(text)][:MAX_WORDS]


def normalised(text: str) -> str:
    """A query or phrase as rules and synonyms match it: its words, lower-cased."""
    return " ".join(words(text))
