"""The pieces behind the editors' commands: grouping, validation, word vectors, import."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from knowledge_base import SAMPLE_DIR, Article, KnowledgeBase, load_knowledge_base
from knowledge_base.clusters import group_questions
from knowledge_base.importer import import_csv
from knowledge_base.validate import validate
from knowledge_base.vectors import DATA_DIR, SentenceSpace, StaticVectors, default_vectors, dot


def test_similar_questions_form_one_group_with_counts() -> None:
    groups = group_questions(
        [
            "how do I pair my headphones",
            "How do I pair my headphones",
            "pairing headphones?",
            "is there a student discount",
            "student discount please",
            "  ",
        ]
    )

    assert [(g.count, g.example) for g in groups] == [
        (3, "How do I pair my headphones"),
        (2, "is there a student discount"),
    ]


def test_validate_warns_about_competing_phrasings(tmp_path: Path) -> None:
    for name, question in (("a", "How can I track my order?"), ("b", "How can I track my orders")):
        (tmp_path / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: {name}\ncategory: other\nquestions: [{question!r}]\n---\nX\n",
            encoding="utf-8",
        )

    problems = validate(tmp_path)

    assert [p.severity for p in problems] == ["warning"]
    assert "competes with" in problems[0].message and "similarity" in problems[0].message


def test_validate_flags_a_question_repeated_in_one_article(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\nid: a\ntitle: A\ncategory: other\n"
        "questions: ['Where is it?', 'where is it']\n---\nX\n",
        encoding="utf-8",
    )

    assert ["listed twice" in p.message for p in validate(tmp_path)] == [True]


def test_static_vectors_know_related_words() -> None:
    vectors = default_vectors()
    assert vectors is not None

    def similarity(a: str, b: str) -> float:
        va, vb = vectors.word(a), vectors.word(b)
        assert va is not None and vb is not None
        return dot(va, vb)

    assert similarity("cellphone", "phone") > similarity("cellphone", "banana")
    assert similarity("motel", "hotel") > similarity("motel", "invoice")
    assert vectors.word("x" * 100) is None


def test_missing_vector_data_is_an_error_the_loader_turns_into_none(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"wordpieces\.bin"):
        StaticVectors.load(tmp_path)
    assert (DATA_DIR / "wordpieces.bin").is_file()


def test_imported_answers_with_several_questions_become_one_article(tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(
        "Category,Question,Answer,Title\n"
        "billing,How do I pay?,Cards or PayPal.,Paying\n"
        "billing,Which cards do you take?,Cards or PayPal.,\n",
        encoding="utf-8",
    )

    result = import_csv(source, tmp_path / "kb", ["billing"])

    assert result.errors == []
    kb, problems = load_knowledge_base(tmp_path / "kb")
    assert problems == []
    (article,) = kb.articles
    assert (article.id, article.title) == ("how-do-i-pay", "Paying")
    assert article.questions == ("How do I pay?", "Which cards do you take?")


def test_sample_validates_without_errors() -> None:
    assert [p for p in validate(SAMPLE_DIR) if p.severity == "error"] == []


class _TopicModel:
    """A stand-in sentence model: one dimension per topic word, plus one all texts share."""

    TOPICS = ("parcel", "refund", "password")
    tuned = False

    def encode(self, texts: list[str]) -> list[tuple[float, ...]]:
        rows = []
        for text in texts:
            words = text.lower().split()
            raw = [1.0] + [float(sum(w.startswith(t) for w in words)) for t in self.TOPICS]
            norm = sum(x * x for x in raw) ** 0.5
            rows.append(tuple(x / norm for x in raw))
        return rows


def test_sentence_space_centres_on_the_knowledge_base_and_counts_the_title() -> None:
    space = SentenceSpace(
        _TopicModel(),
        [
            (["where is my parcel", "parcel not here"], "Parcel tracking"),
            (["I want a refund", "money back for a refund"], "Refunds"),
            (["reset my password"], "Password"),
        ],
    )

    query = space.text("refund please")
    assert query is not None
    # The dimension every text shares is gone after centring; the topic decides.
    scores = [space.similarity(query, article) for article in range(3)]
    assert scores.index(max(scores)) == 1
    if importlib.util.find_spec("numpy") is not None:  # its matrix: the semantic extra
        assert space.nearest(query, 1) == [1]
    assert space.text("") is None


def test_knowledge_base_ranks_with_a_sentence_model() -> None:
    articles = [
        Article(id=i, title=t, category="other", questions=tuple(q), body="X")
        for i, t, q in (
            ("track", "Parcel tracking", ["where is my parcel", "has my parcel shipped"]),
            ("refund", "Refunds", ["can I get a refund", "refund for my order"]),
            ("password", "Password reset", ["I forgot my password", "reset my password"]),
        )
    ]
    kb = KnowledgeBase(articles, semantic=_TopicModel())

    result = kb.search("I would like a refund")

    assert result.best is not None and result.best.article.id == "refund"
