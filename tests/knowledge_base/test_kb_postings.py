"""The compact postings give the counts and BM25 weights the per-article dicts gave."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from knowledge_base.postings import MIN_DENSE, Postings, idf

K1, B = 3.0, 0.75
Built = tuple[list[Counter[str]], Postings]


def _articles(big: int) -> list[Counter[str]]:
    """Forty articles: "common" in all, "every3" in a third (both get a dense row),
    "rare" in two, "own<n>" in one.  ``big`` is one count of "every3": above 255,
    counts take two bytes."""
    articles = []
    for n in range(40):
        tf: Counter[str] = Counter({"common": 1 + n % 3, f"own{n}": 1})
        if n in (5, 17):
            tf["rare"] = 2
        if n % 3 == 0:
            tf["every3"] = big if n == 9 else 1
        articles.append(tf)
    return articles


def _bm25(articles: list[Counter[str]], token: str, doc: int, weight: float) -> float:
    """BM25 as ``records.bm25_weights`` computed it, from per-article dicts."""
    lengths = [sum(tf.values()) for tf in articles]
    avg = sum(lengths) / len(lengths)
    f = articles[doc][token]
    return weight * f * (K1 + 1) / (f + K1 * (1 - B + B * lengths[doc] / avg))


@pytest.fixture(params=[4, 300])
def built(request: pytest.FixtureRequest) -> Built:
    articles = _articles(request.param)
    return articles, Postings(lambda: iter(articles), K1, B, lambda token, w: w / 2)


def test_tokens_in_many_articles_get_the_first_slots_and_a_dense_row(built: Built) -> None:
    articles, postings = built
    df = Counter(t for tf in articles for t in tf)
    dense = {t for t, slot in postings.slots.items() if slot < len(postings.rows)}
    assert dense == {t for t, n in df.items() if n >= MIN_DENSE} == {"common", "every3"}


def test_frequency_idf_and_walked_weights_are_exact(built: Built) -> None:
    articles, postings = built
    assert postings.df("rare") == 2
    assert postings.df("unknown") == 0
    assert postings.idf[postings.slots["rare"]] == idf(2, 40) == math.log(1 + 38.5 / 2.5)
    for token in ("common", "rare", "every3", "own7"):
        weight = idf(postings.df(token), 40) / 2
        expected = [
            (doc, _bm25(articles, token, doc, weight))
            for doc, tf in enumerate(articles)
            if token in tf
        ]
        assert list(postings.walk(token)) == expected
    assert list(postings.walk("unknown")) == []


@pytest.mark.parametrize("docs", [[17, 3, 9, 5], [9], [0, 1, 2, 39, 38]])
def test_columns_and_scores_match_the_counts(built: Built, docs: list[int]) -> None:
    articles, postings = built
    tokens = ["common", "every3", "rare", "own9", "own3"]
    slots = [postings.slots[t] for t in tokens]
    for dense in (2, 0):  # dense rows read all at once, or one by one
        columns = postings.columns(slots, docs, dense)
        assert columns == [tuple(articles[d][t] for d in docs) for t in tokens]
    weights = [idf(postings.df(t), 40) for t in tokens]
    scores = postings.scores(weights, postings.columns(slots, docs), docs)
    expected = [
        sum(_bm25(articles, t, d, w) for t, w in zip(tokens, weights, strict=True)) for d in docs
    ]
    assert scores == pytest.approx(expected, rel=1e-14)
    assert postings.columns(slots, []) == [(), (), (), (), ()]
