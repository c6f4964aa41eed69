"""A loaded knowledge base costs a few kilobytes per article (issue 10: 1,500 articles
must fit in a process of 80 MB).  Per-article dicts, sets and float tuples took
about 70 KB per article here."""

from __future__ import annotations

import gc
import random
import tracemalloc
from pathlib import Path

import pytest

from knowledge_base import Article, KnowledgeBase
from knowledge_base.vectors import DATA_DIR, default_vectors

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


def _mapped_kb(file_name: str) -> tuple[int, int]:
    """Size and resident size, in kB, of this process's mappings of ``file_name``."""
    size = rss = 0
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            field = line.split()
            if not field[0].endswith(":"):  # a mapping's header: address range ... path
                inside = field[-1].endswith(file_name)
            elif inside and field[0] in ("Size:", "Rss:"):
                if field[0] == "Size:":
                    size += int(field[1])
                else:
                    rss += int(field[1])
    return size, rss


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc only")
def test_the_word_vector_table_is_mapped_and_a_build_lets_its_pages_go() -> None:
    """Read into memory, the 3.5 MB table stayed resident; mapped, a build touches most
    of its pages, and lets them go once the knowledge base is built."""
    assert default_vectors() is not None
    kb = KnowledgeBase(_articles(300))

    size, rss = _mapped_kb("wordpieces.bin")

    assert size > 3_000  # the whole table is mapped...
    assert rss < 256  # ...and (nearly) none of it resident after the build
    assert kb.search("where is my parcel").matches


def test_every_word_piece_is_found_at_its_row_and_nothing_else_is() -> None:
    """Pieces are looked up in strings of ``BUCKET`` sorted pieces, not a list of
    28,000 strings (1.6 MB less): the lookup must stay exact."""
    vectors = default_vectors()
    assert vectors is not None
    text = (DATA_DIR / "wordpieces.txt").read_text(encoding="utf-8")
    pieces = text.split("\n")[: len(vectors._rows)]

    assert [vectors._find(piece) for piece in pieces] == list(range(len(pieces)))
    unknown = ["", "\n", "zzzzzzzz", "##zzzz", pieces[0] + "\n" + pieces[1], "\uffff", "\x00"]
    assert [vectors._find(piece) for piece in unknown if piece not in pieces] == [None] * 7
