"""The bundled sample knowledge base is complete, valid and answers its own questions."""

from __future__ import annotations

import pytest

from knowledge_base import SAMPLE_DIR, Article, Decision, KnowledgeBase, load_knowledge_base
from knowledge_base.articles import CATEGORIES


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb, problems = load_knowledge_base(SAMPLE_DIR, categories=CATEGORIES)
    assert [str(p) for p in problems] == []
    return kb


def test_sample_has_at_least_28_articles_across_all_categories(kb: KnowledgeBase) -> None:
    assert len(kb) >= 28
    assert {a.category for a in kb.articles} == set(CATEGORIES)


@pytest.mark.parametrize(
    "article_id",
    [
        "refund-policy",
        "request-refund",
        "returns-policy",
        "exchange-item",
        "store-credit",
        "privacy-personal-data",
        "track-order",
        "lost-or-late-package",
        "damaged-on-arrival",
        "shipping-times-costs",
        "international-shipping",
        "change-delivery-address",
        "cancel-order",
        "password-reset",
        "change-email",
        "update-account-details",
        "delete-account",
        "two-factor-login",
        "charged-twice",
        "payment-methods",
        "invoice-copy",
        "cancel-subscription",
        "warranty-defects",
        "device-wont-turn-on",
        "app-troubleshooting",
        "gift-cards",
        "contact-support",
        "talk-to-human",
    ],
)
def test_required_topic_is_covered(kb: KnowledgeBase, article_id: str) -> None:
    assert kb.get(article_id) is not None


def test_articles_are_well_formed(kb: KnowledgeBase) -> None:
    def faults(article: Article) -> list[str]:
        found = []
        if not 4 <= len(article.questions) <= 8:
            found.append(f"{len(article.questions)} questions")
        if not 3 <= len(article.body.splitlines()) <= 10:
            found.append(f"{len(article.body.splitlines())} body lines")
        if not article.tags:
            found.append("no tags")
        if article.path is None or article.path.stem != article.id:
            found.append("file name differs from id")
        return found

    assert {a.id: faults(a) for a in kb.articles if faults(a)} == {}


def test_sample_states_the_core_policies(kb: KnowledgeBase) -> None:
    def body(article_id: str) -> str:
        article = kb.get(article_id)
        assert article is not None
        return article.body

    assert "30 days" in body("refund-policy")
    assert "receipt" in body("refund-policy")
    assert "original condition" in body("returns-policy")
    assert "store credit" in body("returns-policy")
    assert "GDPR" in body("privacy-personal-data")


def test_every_example_question_answers_its_own_article(kb: KnowledgeBase) -> None:
    misses = [
        (question, article.id)
        for article in kb.articles
        for question in (*article.questions, article.title)
        if (result := kb.search(question)).decision is not Decision.ANSWER
        or result.best is None
        or result.best.article.id != article.id
    ]

    assert misses == []
