"""Scoring how well a customer's message matches each article (0-100).

Plain fuzzy string ratios are poor at sentence matching: ``WRatio`` scores any
shared word high, and ``token_sort_ratio`` punishes a long message that contains
the right words.  So the score blends three signals on keyword tokens (see
``normalize.keywords``), each weighted by how rare a word is across articles (IDF):

* coverage - how much of the message the article's vocabulary (questions, title,
  tags) explains.  Words no article knows count fully against it, which is what
  keeps "what is the weather on mars" away from every article;
* best-phrasing F1 - overlap with the single closest example question, so an
  article wins by having one question that says what the customer said;
* ``rapidfuzz`` ``token_sort_ratio`` against that phrasing - a tie-breaker that
  rewards the same wording and survives small spelling differences.

The blend is then mapped piecewise-linearly so that the evidence level tuned on
the evaluation set as "safe to answer" lands on 75, which keeps the documented
default thresholds meaningful.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge_base.articles import Article
from knowledge_base.normalize import keywords

# Weights of the blended evidence (they sum to 100).
COVERAGE_WEIGHT = 50.0
PHRASING_WEIGHT = 25.0
FUZZY_WEIGHT = 25.0
# Raw evidence that maps to a score of 75 (the default ANSWER threshold).
RAW_AT_75 = 55.0
# Queries are cut to this many keywords; a support question never needs more, and
# it bounds the work for pasted logs or a 100 KB message.
MAX_QUERY_TOKENS = 32
# Spelling correction: only words this long, sharing the first letter, this similar.
_MIN_TYPO_LEN = 5
_TYPO_CUTOFF = 85.0


@dataclass(frozen=True)
class _Phrasing:
    article: int
    text: str
    tokens: frozenset[str]
    keyed: str


@dataclass(frozen=True)
class Scored:
    """The score of one article and the phrasing that earned it."""

    article: Article
    score: float
    phrasing: str


class Scorer:
    """Precomputed index over the articles' example questions and titles."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = tuple(articles)
        self._phrasings: list[_Phrasing] = []
        self._vocab: list[frozenset[str]] = []
        for index, article in enumerate(self._articles):
            vocab: set[str] = set()
            for text in (*article.questions, article.title):
                tokens = keywords(text)
                vocab.update(tokens)
                self._phrasings.append(
                    _Phrasing(index, text, frozenset(tokens), " ".join(sorted(set(tokens))))
                )
            for tag in article.tags:
                vocab.update(keywords(tag))
            self._vocab.append(frozenset(vocab))
        doc_freq: dict[str, int] = defaultdict(int)
        for article_vocab in self._vocab:
            for token in article_vocab:
                doc_freq[token] += 1
        total = len(self._articles)
        self._idf = {t: math.log((total + 1) / (n + 0.5)) for t, n in doc_freq.items()}
        # An unknown word weighs as much as the rarest known word: it is evidence that
        # the message is about something the knowledge base does not cover.
        self._unknown_weight = math.log(total + 1) if total else 1.0
        self._choices = [p.keyed for p in self._phrasings]
        by_initial: dict[str, list[str]] = defaultdict(list)
        for token in sorted(doc_freq):
            by_initial[token[0]].append(token)
        self._by_initial = dict(by_initial)

    def score(self, query: str) -> list[Scored]:
        """Score every article against ``query``; best first, one entry per article."""
        words = list(dict.fromkeys(keywords(query)))[:MAX_QUERY_TOKENS]
        tokens = list(dict.fromkeys(self._correct(word) for word in words))
        if not tokens or not self._articles:
            return []
        weights = {t: self._idf.get(t, self._unknown_weight) for t in tokens}
        total = sum(weights.values())
        fuzzy = self._fuzzy(" ".join(sorted(tokens)))

        best: dict[int, tuple[float, str]] = {}
        for index, phrasing in enumerate(self._phrasings):
            blended = (
                PHRASING_WEIGHT * self._f1(phrasing.tokens, weights, total)
                + FUZZY_WEIGHT * fuzzy[index] / 100.0
            )
            if blended > best.get(phrasing.article, (-1.0, ""))[0]:
                best[phrasing.article] = (blended, phrasing.text)

        results = []
        for index, (blended, text) in best.items():
            vocab = self._vocab[index]
            coverage = sum(w for t, w in weights.items() if t in vocab) / total
            raw = COVERAGE_WEIGHT * coverage + blended
            results.append(Scored(self._articles[index], round(calibrate(raw), 1), text))
        results.sort(key=lambda s: (-s.score, s.article.id))
        return results

    def _fuzzy(self, query: str) -> list[float]:
        scores = [0.0] * len(self._choices)
        for _, value, index in process.extract(
            query, self._choices, scorer=fuzz.token_sort_ratio, limit=None
        ):
            scores[index] = value
        return scores

    def _f1(self, tokens: frozenset[str], weights: dict[str, float], total: float) -> float:
        """IDF-weighted F1 of the query tokens against one phrasing's tokens."""
        shared = sum(w for t, w in weights.items() if t in tokens)
        if not shared:
            return 0.0
        recall = shared / total
        precision = shared / sum(self._idf[t] for t in tokens)
        return 2 * recall * precision / (recall + precision)

    def _correct(self, token: str) -> str:
        """Map a misspelt word to a known one ("pasword" -> "password").

        The first letter must match: typos rarely hit it, and requiring it stops
        unrelated words ("mount") from being "corrected" into known ones ("amount").
        """
        if token in self._idf or len(token) < _MIN_TYPO_LEN or not token.isalpha():
            return token
        candidates = self._by_initial.get(token[0], [])
        found = process.extractOne(token, candidates, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
        return found[0] if found else token


def calibrate(raw: float) -> float:
    """Map blended evidence (0-100) to the score scale, keeping 0 and 100 fixed.

    Piecewise linear through ``RAW_AT_75 -> 75``: monotone, so the ranking is
    unchanged, and easy to reason about when tuning thresholds.
    """
    raw = min(max(raw, 0.0), 100.0)
    if raw <= RAW_AT_75:
        return raw * 75.0 / RAW_AT_75
    return 75.0 + (raw - RAW_AT_75) * 25.0 / (100.0 - RAW_AT_75)
