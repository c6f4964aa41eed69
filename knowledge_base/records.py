"""The index's records and counting helpers, kept apart so ``index.py`` stays readable.

``Doc`` is what the index keeps per article, ``Query`` a question analysed against
one index, ``Candidate`` one article's evidence for one question.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

from knowledge_base.vectors import Vector

GRAM_SIZES = (3,)
Pair = tuple[str, str]
# Term codes start here, so that PAIR_END (and "\n") is never one.
FIRST_CODE = 0x20
PAIR_END = "\x00"


@dataclass(frozen=True, slots=True)
class Doc:
    """What the index keeps of one article besides its postings and centroid.

    Terms are written as one character each (``code``), so that a title or a set
    of word pairs is one small string rather than a set of strings and tuples.
    """

    title: str  # codes of the distinct terms of the title
    pairs: str  # codes of each distinct adjacent pair of terms, then PAIR_END
    surfaces: str  # example questions and title, for fuzzy scoring, joined by "\n"


@dataclass(frozen=True)
class Query:
    """A customer's question, analysed once against one index."""

    terms: dict[str, float]  # distinct terms -> weight (IDF, unknown weight or 0)
    mass: float
    corrections: dict[str, str]
    surface: str
    gram_mass: float
    pairs: frozenset[Pair]
    vector: Vector | None
    features: tuple[float, ...] = ()  # QUERY_FEATURES
    known: tuple[str, ...] = ()  # the terms some article uses, in order
    known_slots: tuple[int, ...] = ()  # their slots in the index's term ``Postings``
    codes: frozenset[str] = frozenset()  # their codes (``code``)
    pair_codes: tuple[str, ...] = ()  # codes of the pairs of them some article might have
    gram_slots: tuple[int, ...] = ()  # the 3-grams some article has, sorted (dense first)
    gram_weights: tuple[float, ...] = ()  # their IDF
    dense_grams: int = 0  # how many of them have a dense row


class Candidate(NamedTuple):
    """One article's evidence for a query, in ``FEATURES`` order.

    A named tuple, not a frozen dataclass: ten are made for every question, and a
    frozen dataclass's ``__init__`` costs four times as much (``object.__setattr__``
    per field).
    """

    article: int
    features: list[float]
    query: tuple[float, ...]  # the question's QUERY_FEATURES
    phrasing: int  # index into the article's questions (len(questions) = the title)
    matched: tuple[str, ...]  # the question's terms the article knows


def grams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + n] for n in GRAM_SIZES for i in range(len(padded) - n + 1)}


def pairs(terms: list[str]) -> list[Pair]:
    return list(pairwise(terms))


def code(slot: int) -> str:
    """The one-character code of the term in vocabulary slot ``slot``."""
    return chr(FIRST_CODE + slot)
