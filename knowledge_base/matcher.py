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
from typing import NamedTuple

from knowledge_base.articles import Article, ArticleProblem, load_articles
from knowledge_base.index import LexicalIndex
from knowledge_base.ranker import DEFAULT_MODEL, SEMANTIC_MODEL, TUNED_MODEL, Ranked, rank
from knowledge_base.records import Query
from knowledge_base.synonyms import Synonyms, load_synonyms
from knowledge_base.terms import Analyzer
from knowledge_base.vectors import SentenceModel, default_vectors

# Longest message (in characters) that is matched; the rest is ignored.  Normalising
# and scoring are linear in the text, and a support question fits well within this.
MAX_QUERY_CHARS = 1000
# At most this many articles are offered when asking the customer to choose.
MAX_CLARIFY_OPTIONS = 3
# Recent searches kept with their results.  A turn often searches the same words twice
# (the category, then the answer), and in an outage many customers ask the same thing;
# a knowledge base never changes (an edit builds a new one), so a result stays right.
SEARCH_CACHE = 512


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


class Match(NamedTuple):
    """One article and how well it matched; ``phrasing`` is the question that won.

    (A named tuple, like the index's ``Candidate``: up to ten a search.)
    """

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
    """An immutable set of articles, indexed once for fast repeated searches.

    ``synonyms`` is the knowledge base's own vocabulary (``synonyms.yaml``).
    ``vectors`` adds the paraphrase signal of the bundled static word vectors
    (``knowledge_base.vectors``); ``semantic`` replaces it with a sentence model
    (``knowledge_base.semantic``, the ``semantic`` extra).  Without either, matching
    is purely lexical.
    """

    def __init__(
        self,
        articles: Iterable[Article],
        thresholds: Thresholds = Thresholds(),
        *,
        synonyms: Synonyms | None = None,
        vectors: bool = True,
        semantic: SentenceModel | None = None,
        cache: int = SEARCH_CACHE,
    ) -> None:
        self._articles = tuple(articles)
        self._cache_size = cache
        self._cache: dict[tuple[str, int, frozenset[str]], SearchResult] = {}
        self.cache_hits = 0
        self._by_id = {article.id: article for article in self._articles}
        self._has_public = any(article.public for article in self._articles)
        if len(self._by_id) != len(self._articles):
            msg = "article ids must be unique"
            raise ValueError(msg)
        self._thresholds = thresholds
        self.synonyms = synonyms or Synonyms()
        static = default_vectors() if vectors and semantic is None else None
        self.index = LexicalIndex(self._articles, Analyzer(self.synonyms), static, semantic)
        if static is not None:
            static.release()  # the build's pages of the word-vector table (3.5 MB)
        if semantic is None:
            self._model = DEFAULT_MODEL
        else:
            self._model = TUNED_MODEL if semantic.tuned else SEMANTIC_MODEL

    @property
    def articles(self) -> tuple[Article, ...]:
        return self._articles

    @property
    def thresholds(self) -> Thresholds:
        return self._thresholds

    @property
    def has_public(self) -> bool:
        """Whether any article may be read before the identity check (``Article.public``)."""
        return self._has_public

    def __len__(self) -> int:
        return len(self._articles)

    def get(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def search(self, query: str, *, limit: int = 5, exclude: Collection[str] = ()) -> SearchResult:
        """Rank articles for ``query`` and decide whether to answer, clarify or not.

        ``exclude`` holds ids already offered in this conversation ("that didn't
        help"): they are left out before ranking, so the next search judges the
        remaining articles on their own.
        """
        if limit < 1:
            msg = f"limit must be at least 1, got {limit}"
            raise ValueError(msg)
        skip = frozenset(exclude)
        key = (query, limit, skip)
        cached = self._cache.pop(key, None)
        if cached is not None:
            self.cache_hits += 1
            self._cache[key] = cached  # now the most recent
            return cached
        result = self._search(query, limit, skip)
        if self._cache_size:
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]  # the least recently used
            self._cache[key] = result
        return result

    def _search(self, query: str, limit: int, exclude: frozenset[str]) -> SearchResult:
        ranked = self.rank(query, limit=limit, exclude=exclude)
        matches = [
            Match(self._articles[r.candidate.article], r.score, self._phrasing(r))
            for r in ranked
            if r.score > 0.0
        ]
        if not matches:
            return SearchResult(query, Decision.NONE, ())
        decision = self._decide(matches)
        if decision is Decision.CLARIFY:
            clarify = self._thresholds.clarify
            options = [m for m in matches[:MAX_CLARIFY_OPTIONS] if m.score >= clarify]
            return SearchResult(query, decision, tuple(options[:limit]))
        return SearchResult(query, decision, tuple(matches[:limit]))

    def rank(self, query: str, *, limit: int = 5, exclude: Collection[str] = ()) -> list[Ranked]:
        """The ranked candidates with all their evidence (for ``--explain``)."""
        skip = frozenset(exclude)
        analysed = self.index.analyse(query[:MAX_QUERY_CHARS])
        count = self._model.candidates
        found = self.index.candidates(analysed, count + len(skip) + max(limit - count, 0))
        kept = [c for c in found if self._articles[c.article].id not in skip]
        return rank(kept, self._model)

    def analyse(self, query: str) -> Query:
        return self.index.analyse(query[:MAX_QUERY_CHARS])

    def index_vocabulary(self) -> frozenset[str]:
        """Every term some article knows (after synonyms and stemming)."""
        return frozenset(self.index.terms.slots)

    def _phrasing(self, ranked: Ranked) -> str:
        article = self._articles[ranked.candidate.article]
        at = ranked.candidate.phrasing  # len(questions): the title
        return article.questions[at] if at < len(article.questions) else article.title

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
    *,
    semantic: SentenceModel | None = None,
) -> tuple[KnowledgeBase, list[ArticleProblem]]:
    """Load articles and ``synonyms.yaml`` from ``directory`` and index them.

    See ``load_articles``; a broken synonyms file is reported and ignored.
    """
    articles, problems = load_articles(directory, categories)
    synonyms, synonym_problems = load_synonyms(directory)
    kb = KnowledgeBase(articles, thresholds, synonyms=synonyms, semantic=semantic)
    return kb, problems + synonym_problems
