"""Finding the article that answers a customer's message, and deciding what to do.

The decision is deliberately conservative: a wrong answer costs more trust than a
clarifying question or a hand-off to a person, so the bot only answers when the best
article is both strong and clearly ahead of the runner-up.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from knowledge_base.articles import Article, ArticleProblem, load_articles
from knowledge_base.scoring import Scorer

# Longest message (in characters) that is matched; the rest is ignored.  Normalising
# and scoring are linear in the text, and a support question fits well within this.
MAX_QUERY_CHARS = 1000
# At most this many articles are offered when asking the customer to choose.
MAX_CLARIFY_OPTIONS = 3


@dataclass(frozen=True)
class Thresholds:
    """Score limits (0-100) for answering, asking to clarify, or giving up.

    ``answer``: the best match must reach this to be sent as the answer, and must
    also lead the runner-up by ``margin`` (otherwise the two are too close to
    call).  ``clarify``: matches at or above this are worth offering as options.
    """

    answer: float = 75.0
    clarify: float = 55.0
    margin: float = 6.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.clarify <= self.answer <= 100.0:
            msg = (
                "thresholds must satisfy 0 <= clarify <= answer <= 100, "
                f"got clarify={self.clarify}, answer={self.answer}"
            )
            raise ValueError(msg)
        if self.margin < 0.0:
            msg = f"threshold margin must not be negative, got {self.margin}"
            raise ValueError(msg)


class Decision(StrEnum):
    """What the bot should do with a search result."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    NONE = "none"


@dataclass(frozen=True)
class Match:
    """One article and how well it matched; ``phrasing`` is the question that won."""

    article: Article
    score: float
    phrasing: str


@dataclass(frozen=True)
class SearchResult:
    """Ranked matches (best first) and the decision taken on them.

    ANSWER: ``best`` is the answer, further matches are related articles.
    CLARIFY: ``matches`` are the 1-3 candidates worth offering.
    NONE: ``matches`` are the closest (weak) articles, for logs and agents only.
    """

    query: str
    decision: Decision
    matches: tuple[Match, ...]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None


class KnowledgeBase:
    """An immutable set of articles, indexed once for fast repeated searches."""

    def __init__(self, articles: Iterable[Article], thresholds: Thresholds = Thresholds()) -> None:
        self._articles = tuple(articles)
        self._by_id = {article.id: article for article in self._articles}
        if len(self._by_id) != len(self._articles):
            msg = "article ids must be unique"
            raise ValueError(msg)
        self._thresholds = thresholds
        self._scorer = Scorer(self._articles)

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    def __len__(self) -> int:
        return len(self._articles)

    def get(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def search(self, query: str, *, limit: int = 5, exclude: Collection[str] = ()) -> SearchResult:
        """Rank articles for ``query`` and decide whether to answer, clarify or not.

        ``exclude`` holds ids already offered in this conversation ("that didn't
        help"), so the next search moves on to other articles.
        """
        if limit < 1:
            msg = f"limit must be at least 1, got {limit}"
            raise ValueError(msg)
        skip = frozenset(exclude)
        ranked = [
            Match(s.article, s.score, s.phrasing)
            for s in self._scorer.score(query[:MAX_QUERY_CHARS])
            if s.article.id not in skip and s.score > 0.0
        ]
        if not ranked:
            return SearchResult(query, Decision.NONE, ())
        decision = self._decide(ranked)
        if decision is Decision.CLARIFY:
            clarify = self._thresholds.clarify
            options = [m for m in ranked[:MAX_CLARIFY_OPTIONS] if m.score >= clarify]
            return SearchResult(query, decision, tuple(options[:limit]))
        return SearchResult(query, decision, tuple(ranked[:limit]))

    def _decide(self, ranked: list[Match]) -> Decision:
        best = ranked[0].score
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        if best >= self._thresholds.answer and best - runner_up >= self._thresholds.margin:
            return Decision.ANSWER
        if best >= self._thresholds.clarify:
            return Decision.CLARIFY
        return Decision.NONE


def load_knowledge_base(
    directory: Path,
    thresholds: Thresholds = Thresholds(),
    categories: Collection[str] | None = None,
) -> tuple[KnowledgeBase, list[ArticleProblem]]:
    """Load articles from ``directory`` and index them; see ``load_articles``."""
    articles, problems = load_articles(directory, categories)
    return KnowledgeBase(articles, thresholds), problems
