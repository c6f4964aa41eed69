"""A loaded knowledge base costs a few kilobytes per article (issue 10: 1,500 articles
must fit in a process of 80 MB).  Per-article dicts, sets and float tuples took
about 70 KB per article here."""

from __future__ import annotations

import gc
import random
import tracemalloc

from knowledge_base import Article, KnowledgeBase
from knowledge_base.vectors import default_vectors

TOPIC = ("order", "refund", "parcel", "password", "account", "card", "payment", "phone")
FILLER = ("how", "do", "i", "can", "you", "my", "the", "to", "where", "is", "what", "get")


def _articles(count: int) -> list[Article]:
    rng = random.Random(7)
    vocabulary = [*TOPIC, *FILLER, *(f"word{n}" for n in range(2000))]
    return [
        Article(
            id=f"a{n}",
            title=" ".join(rng.sample(TOPIC, 2)),
            category="other",
            questions=tuple(" ".join(rng.choices(vocabulary, k=8)) for _ in range(10)),
            body="An answer.",
        )
        for n in range(count)
    ]


def test_the_index_takes_a_few_kilobytes_per_article() -> None:
    articles = _articles(300)
    default_vectors()  # shared by every knowledge base, not counted
    gc.collect()
    tracemalloc.start()
    try:
        kb = KnowledgeBase(articles)
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kb.search("where is my parcel").matches
    assert kept / len(articles) < 12_000
