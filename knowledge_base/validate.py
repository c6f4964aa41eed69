"""``supportbot kb validate``: everything an editor should fix before publishing.

Loading already rejects broken files (front matter, ids, categories, empty fields);
validation adds what only matters to the people writing the articles: the same
question in two articles (the matcher cannot choose), a question repeated inside
one article, links to articles that do not exist, and - as warnings - two
articles competing for nearly the same phrasing, with the pair and the score, so
one of them can be reworded or the two merged.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from rapidfuzz import fuzz

from knowledge_base.articles import Article, ArticleProblem, load_articles
from knowledge_base.matcher import KnowledgeBase
from knowledge_base.normalize import normalize
from knowledge_base.synonyms import load_synonyms

# Two phrasings in different articles at least this similar (token-sort ratio on
# normalised text, 0-100) are reported as competing.
NEAR_DUPLICATE = 90.0
# Competitors are looked for among this many closest articles per phrasing.
COMPETITORS = 3


def validate(directory: Path, categories: Collection[str] | None = None) -> list[ArticleProblem]:
    """Every problem in the folder, errors first; raises only for a missing folder."""
    articles, problems = load_articles(directory, categories)
    _, synonym_problems = load_synonyms(directory)
    problems = [_broken_link_is_error(p) for p in problems] + synonym_problems
    problems += _duplicate_questions(articles)
    problems += _competing_phrasings(articles)
    return sorted(problems, key=lambda p: (p.severity != "error", str(p.path), p.field or ""))


def _broken_link_is_error(problem: ArticleProblem) -> ArticleProblem:
    # The bot keeps serving an article with a dead link, but an editor must fix it.
    if problem.field == "links" and problem.message.startswith("unknown article id"):
        return ArticleProblem(problem.path, problem.field, problem.message, "error")
    return problem


def _where(article: Article) -> Path:
    return article.path or Path(f"{article.id}.md")


def _duplicate_questions(articles: list[Article]) -> list[ArticleProblem]:
    problems = []
    owner: dict[str, Article] = {}
    for article in articles:
        seen: set[str] = set()
        for question in article.questions:
            key = normalize(question)
            if not key:
                message = f"question {question!r} has no words"
                problems.append(ArticleProblem(_where(article), "questions", message))
            elif key in seen:
                message = f"question {question!r} is listed twice"
                problems.append(ArticleProblem(_where(article), "questions", message, "warning"))
            elif key in owner and owner[key].id != article.id:
                message = f"question {question!r} is also in {owner[key].id!r}"
                problems.append(ArticleProblem(_where(article), "questions", message))
            seen.add(key)
            owner.setdefault(key, article)
    return problems


def _competing_phrasings(articles: list[Article]) -> list[ArticleProblem]:
    """Near-duplicate phrasings across articles, found through the matcher's index."""
    if len(articles) < 2:
        return []
    kb = KnowledgeBase(articles, vectors=False)
    problems = []
    reported: set[tuple[str, str]] = set()
    for article in articles:
        for question in article.questions:
            text = normalize(question)
            for ranked in kb.rank(question, limit=COMPETITORS, exclude=[article.id])[:COMPETITORS]:
                other = kb.articles[ranked.candidate.article]
                for phrasing in other.questions:
                    score = fuzz.token_sort_ratio(text, normalize(phrasing))
                    pair = (min(question, phrasing), max(question, phrasing))
                    if (
                        score >= NEAR_DUPLICATE
                        and pair not in reported
                        and normalize(phrasing) != text
                    ):
                        reported.add(pair)
                        message = (
                            f"{question!r} competes with {phrasing!r} in {other.id!r} "
                            f"(similarity {score:.0f})"
                        )
                        problems.append(
                            ArticleProblem(_where(article), "questions", message, "warning")
                        )
    return problems
