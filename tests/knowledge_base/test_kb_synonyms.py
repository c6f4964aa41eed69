"""synonyms.yaml: the knowledge base's own vocabulary, and its mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import Article, Decision, KnowledgeBase, load_knowledge_base
from knowledge_base.synonyms import Synonyms, load_synonyms, parse_synonyms

FILE = Path("synonyms.yaml")


def article(article_id: str, *questions: str) -> Article:
    return Article(
        id=article_id, title=article_id, category="other", questions=questions, body="A."
    )


ARTICLES = [
    article("pairing", "How do I pair my AcmePods?", "AcmePods will not connect"),
    article("shipping", "Where is my package?", "When does my package arrive?"),
    article("refund", "How do I get a refund?", "Can I have a refund for my order?"),
]


def synonyms(data: object) -> Synonyms:
    parsed, problems = parse_synonyms(data, FILE)
    assert [p for p in problems if p.severity == "error"] == []
    return parsed


def test_a_variant_matches_like_the_canonical_word() -> None:
    plain = KnowledgeBase(ARTICLES)
    vocab = KnowledgeBase(ARTICLES, synonyms=synonyms({"package": ["parcel", "shipment"]}))

    with_vocab = vocab.search("where is my parcel")
    assert with_vocab.decision is Decision.ANSWER
    assert with_vocab.best is not None and with_vocab.best.article.id == "shipping"
    plain_best = plain.search("where is my parcel").best
    assert plain_best is None or plain_best.score < with_vocab.best.score


def test_multi_word_variants_and_product_names() -> None:
    kb = KnowledgeBase(
        ARTICLES,
        synonyms=synonyms({"refund": ["money back"], "acmepods": ["acme pods", "my earbuds"]}),
    )

    refund = kb.search("I want my money back").best
    pods = kb.search("my earbuds will not connect").best
    assert refund is not None and refund.article.id == "refund"
    assert pods is not None and pods.article.id == "pairing"


def test_variants_cover_inflections() -> None:
    folded = synonyms({"package": ["parcel"]})

    assert folded.apply(["my", "parcel"]) == ["my", "packag"]
    assert folded.apply(["two", "parcel"]) == folded.apply(["two", "parcel"])
    assert folded.apply([]) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["parcel", "package"], "must map a word to a list of its variants"),
        ({"package": []}, "must be a non-empty list of variants"),
        ({"package": [3]}, "is empty or not text"),
        ({"package": ["parcel"], "box": ["parcel"]}, "already a variant of 'package'"),
        ({"!!!": ["parcel"]}, "must contain letters"),
    ],
)
def test_mistakes_reject_the_whole_file(data: object, message: str) -> None:
    parsed, problems = parse_synonyms(data, FILE)

    assert len(parsed) == 0
    assert any(message in p.message and p.severity == "error" for p in problems), problems


def test_a_variant_equal_to_its_word_is_only_a_warning() -> None:
    parsed, problems = parse_synonyms({"package": ["packages", "parcel"]}, FILE)

    assert len(parsed) == 1
    assert [p.severity for p in problems] == ["warning"]


def test_missing_file_means_no_synonyms(tmp_path: Path) -> None:
    assert load_synonyms(tmp_path) == (Synonyms(), [])


def test_broken_file_is_reported_and_ignored(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\nid: a\ntitle: A\ncategory: other\nquestions: [Where is my package]\n---\nBody\n",
        encoding="utf-8",
    )
    (tmp_path / "synonyms.yaml").write_text("package: [parcel\n", encoding="utf-8")

    kb, problems = load_knowledge_base(tmp_path)

    assert len(kb) == 1
    assert [(p.path.name, p.severity) for p in problems] == [("synonyms.yaml", "error")]
    assert "invalid YAML" in problems[0].message


def test_the_sample_ships_a_valid_synonyms_file() -> None:
    from knowledge_base import SAMPLE_DIR

    parsed, problems = load_synonyms(SAMPLE_DIR)

    assert problems == []
    assert parsed.apply(["parcel"]) == ["packag"]
