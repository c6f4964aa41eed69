"""The index's records and counting helpers, kept apart so ``index.py`` stays readable.

``Doc`` is what the index keeps per article, ``Query`` a question analysed against
one index, ``Candidate`` one article's evidence for one question.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from knowledge_base.vectors import Vector

GRAM_SIZES = (3,)
Pair = tuple[str, str]


@dataclass(frozen=True)
class Doc:
    terms: dict[str, float]  # term -> BM25 weight in this article
    term_keys: frozenset[str]
    focus: dict[str, float]  # term -> IDF x share of the term's occurrences here
    grams: dict[str, float]
    gram_keys: frozenset[str]
    title: frozenset[str]
    pairs: frozenset[Pair]
    surfaces: tuple[str, ...]  # example questions and title, for fuzzy scoring


@dataclass(frozen=True)
class Query:
    """A customer's question, analysed once against one index."""

    terms: dict[str, float]  # distinct terms -> weight (IDF, unknown weight or 0)
    term_set: frozenset[str]
    mass: float
    corrections: dict[str, str]
    surface: str
    grams: dict[str, float]
    gram_set: frozenset[str]
    gram_mass: float
    pairs: frozenset[Pair]
    vector: Vector | None
    features: tuple[float, ...] = ()  # QUERY_FEATURES


@dataclass(frozen=True)
class Candidate:
    """One article's evidence for a query, in ``FEATURES`` order."""

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


def idf(tfs: list[Counter[str]], count: int) -> dict[str, float]:
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    return {t: math.log(1.0 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}


def bm25_weights(
    tfs: list[Counter[str]], idf: dict[str, float], k1: float, b: float
) -> list[dict[str, float]]:
    lengths = [sum(tf.values()) for tf in tfs]
    avg = (sum(lengths) / len(lengths)) if lengths else 1.0
    return [
        {t: idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg)) for t, f in tf.items()}
        for tf, length in zip(tfs, lengths, strict=True)
    ]
