"""The lexical side of matching: an inverted index and per-article evidence.

For every candidate article the index measures, each on a 0-1 scale that does not
depend on the size of the knowledge base:

* ``bm25``: BM25 of the question's terms against the whole article (its example
  questions, its title twice and its tags), divided by the best score the question
  could reach - whole articles beat single phrasings because ten paraphrases teach
  more words than one;
* ``chars``: the same over character 3- and 4-grams, which catches typos, compounds
  ("cellphone") and inflections the stemmer misses;
* ``coverage``: the IDF-weighted share of the question's words the article knows at
  all; unknown topic words count fully against it, which is what refuses "what is
  the weather on mars";
* ``focus``: like coverage, but each word counts by the share of its occurrences that
  are in this article, rewarding words that are typical for it;
* ``title``: the share of the article's title the question mentions;
* ``fuzzy``/``ratio``: ``rapidfuzz`` token-set and plain ratio against the closest
  example question, rewarding the same wording;
* ``vector``: cosine with the article's centroid in the static word-vector space
  (``knowledge_base.vectors``), for paraphrases that share no word;
* ``pairs``: the share of the question's adjacent word pairs found in the article
  ("credit limit" is not "credit score").

``knowledge_base.ranker`` turns these into one calibrated score.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter

from rapidfuzz import fuzz, process

from knowledge_base.articles import Article
from knowledge_base.records import Candidate, Doc, Query, bm25_weights, grams, idf, pairs
from knowledge_base.terms import STOP_TERMS, Analyzer, stem, surface
from knowledge_base.vectors import (
    SentenceModel,
    SentenceSpace,
    StaticVectors,
    VectorSpace,
)

K1, B = 3.0, 0.75
CHAR_K1, CHAR_B = 3.0, 1.0
TITLE_REPEAT = 2
CANDIDATES = 10
# Terms in more than this share of articles only re-score candidates found through
# rarer terms: walking the postings of "the" or "my" would cost the most and decide
# the least.
COMMON_SHARE = 0.05
MIN_COMMON = 30
TOP_UP_SCAN = 100
MAX_QUERY_TERMS = 32
MIN_TYPO_LEN, TYPO_CUTOFF = 5, 85.0
STOP_WEIGHT = 0.3
FEATURES = ("bm25", "chars", "coverage", "focus", "title", "fuzzy", "ratio", "vector", "pairs")
# About the question alone: how much of it no article knows, and how short it is.
QUERY_FEATURES = ("unknown", "brevity")


class LexicalIndex:
    """Everything about the articles that does not depend on the query."""

    def __init__(
        self,
        articles: Sequence[Article],
        analyzer: Analyzer,
        vectors: StaticVectors | None,
        semantic: SentenceModel | None = None,
    ) -> None:
        self.analyzer = analyzer
        count = len(articles)
        all_texts = [(*a.questions, *[a.title] * TITLE_REPEAT, *a.tags) for a in articles]
        surfaces = [[surface(text) for text in doc] for doc in all_texts]
        terms = [[analyzer.of_surface(s) for s in doc] for doc in surfaces]
        term_tf = [Counter(t for ts in doc for t in ts) for doc in terms]
        gram_tf = [Counter(g for s in doc for g in grams(s)) for doc in surfaces]
        self.idf = idf(term_tf, count)
        self.gram_idf = idf(gram_tf, count)
        self.unknown_weight = math.log(1.0 + (count + 0.5) / 0.5)
        totals: Counter[str] = Counter()
        for tf in term_tf:
            totals.update(tf)
        damped = {t: w * STOP_WEIGHT if t in STOP_TERMS else w for t, w in self.idf.items()}
        term_w = bm25_weights(term_tf, damped, K1, B)
        gram_w = bm25_weights(gram_tf, self.gram_idf, CHAR_K1, CHAR_B)
        self.docs = [
            Doc(
                terms=term_w[i],
                term_keys=frozenset(term_w[i]),
                focus={t: self.idf[t] * tf / totals[t] for t, tf in term_tf[i].items()},
                grams=gram_w[i],
                gram_keys=frozenset(gram_w[i]),
                title=frozenset(analyzer.terms(article.title)),
                pairs=frozenset(p for ts in terms[i] for p in pairs(ts)),
                surfaces=tuple(surfaces[i][: len(article.questions) + 1]),
            )
            for i, article in enumerate(articles)
        ]
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, doc in enumerate(self.docs):
            for term, weight in doc.terms.items():
                self.postings[term].append((i, weight))
        self._common = max(MIN_COMMON, int(COMMON_SHARE * count))
        # Typos are corrected on stems before synonyms apply, against every word the
        # articles use and every variant in the synonyms ("parcle" -> "parcel").
        self._spelled = {stem(w) for doc in surfaces for s in doc for w in s.split()}
        for variant in analyzer.synonyms.mapping if analyzer.synonyms else ():
            self._spelled.update(variant.split())
        by_initial: dict[str, list[str]] = defaultdict(list)
        for term in sorted(self._spelled):
            by_initial[term[0]].append(term)
        self._by_initial = dict(by_initial)
        self.correct = lru_cache(maxsize=20_000)(self._correct)
        # Word weights for the vectors: IDF over single phrasings, not articles.
        phrasings = [s for doc in self.docs for s in doc.surfaces]
        stem_df = Counter(t for s in phrasings for t in {stem(w) for w in s.split()})
        n = len(phrasings) + 1
        self._stem_idf = {t: math.log(n / (df + 1)) for t, df in stem_df.items()}
        self._stem_unknown = math.log(n)
        texts = [list(doc.surfaces) for doc in self.docs]
        self.space: VectorSpace | SentenceSpace | None = None
        if semantic is not None:
            self.space = SentenceSpace(semantic, [(list(a.questions), a.title) for a in articles])
        elif vectors is not None:
            self.space = VectorSpace(vectors, texts, self._word_weight)

    def _word_weight(self, word: str) -> float:
        term = stem(word)
        return self._stem_idf.get(term, 0.1 if term in STOP_TERMS else self._stem_unknown)

    def analyse(self, text: str) -> Query:
        text_surface = surface(text)
        corrections: dict[str, str] = {}
        stems = []
        for word in text_surface.split()[: 4 * MAX_QUERY_TERMS]:
            base = stem(word)
            fixed = self.correct(base)
            if fixed != base:
                corrections[word] = fixed
            stems.append(fixed)
        found = self.analyzer.fold(stems)
        terms: dict[str, float] = {}
        for term in list(dict.fromkeys(found))[:MAX_QUERY_TERMS]:
            weight = self.idf.get(term)
            if term in STOP_TERMS:
                # Function words count, but little, whatever the size of the knowledge
                # base: in 30 articles "with" is as rare as a topic word.
                weight = STOP_WEIGHT * (weight or 0.0)
            elif weight is None:
                weight = self.unknown_weight
            terms.setdefault(term, weight)
        gram_idf, unknown = self.gram_idf, self.unknown_weight
        query_grams = {g: gram_idf.get(g, unknown) for g in grams(text_surface)}
        space = self.space
        sentence = text if isinstance(space, SentenceSpace) else text_surface
        vector = space.text(sentence) if space and terms else None
        mass = sum(terms.values())
        unknown = sum(w for t, w in terms.items() if t not in self.idf)
        content = sum(1 for t in terms if t not in STOP_TERMS)
        return Query(
            terms=terms,
            term_set=frozenset(terms),
            mass=mass,
            corrections=corrections,
            surface=text_surface,
            grams=query_grams,
            gram_set=frozenset(query_grams),
            gram_mass=sum(query_grams.values()),
            pairs=frozenset(pairs(found)),
            vector=vector,
            features=(unknown / mass if mass else 1.0, 1.0 / (1 + content)),
        )

    def candidates(self, query: Query, limit: int = CANDIDATES) -> list[Candidate]:
        """The ``limit`` articles with the best BM25, with all their evidence."""
        if query.mass <= 0.0:
            return []
        rare = [t for t in query.terms if len(self.postings.get(t, ())) <= self._common]
        partial: dict[int, float] = defaultdict(float)
        for term in rare or query.terms:
            for i, weight in self.postings.get(term, ()):
                partial[i] += weight
        top = sorted(partial.items(), key=itemgetter(1), reverse=True)[: limit * 2]
        full = sorted(((self._bm25(query, i), -i) for i, _ in top), reverse=True)[:limit]
        found = [-negative for _, negative in full]
        bm25 = [score for score, _ in full]
        if isinstance(self.space, SentenceSpace):
            taken = set(found)
            extra = [i for i in self.space.nearest(query.vector, limit) if i not in taken]
            found += extra
            bm25 += [self._bm25(query, i) for i in extra]
        if len(found) < min(limit, len(self.docs)):
            extra = self._top_up(query, found, limit - len(found))
            found += extra
            bm25 += [self._bm25(query, i) for i in extra]
        return self._evidence(query, found, bm25)

    def _top_up(self, query: Query, found: list[int], missing: int) -> list[int]:
        """Articles that share no rare word, closest in meaning first.

        Leads are measured against the best other article; when only one or two
        articles share a word with the question (a small knowledge base, an
        off-topic question), the others must still be there to be measured against.
        """
        taken = set(found)
        step = max(1, len(self.docs) // TOP_UP_SCAN)  # bounded work in a big knowledge base
        rest = [i for i in range(0, len(self.docs), step) if i not in taken]
        space = self.space
        if space is not None and query.vector is not None:
            rest.sort(key=lambda i: -space.similarity(query.vector, i))
        return rest[:missing]

    def _bm25(self, query: Query, i: int) -> float:
        doc = self.docs[i]
        return sum(map(doc.terms.__getitem__, query.term_set & doc.term_keys))

    def _evidence(self, query: Query, found: list[int], bm25: list[float]) -> list[Candidate]:
        choices = [s for i in found for s in self.docs[i].surfaces]
        ratio = [0.0] * len(choices)
        for _, value, k in process.extract(query.surface, choices, scorer=fuzz.ratio, limit=None):
            ratio[k] = value
        norm = (K1 + 1.0) * query.mass
        gram_norm = (CHAR_K1 + 1.0) * query.gram_mass or 1.0
        results = []
        start = 0
        weight = query.terms.__getitem__
        for i, lexical in zip(found, bm25, strict=True):
            doc = self.docs[i]
            end = start + len(doc.surfaces)
            # The closest wording by plain ratio; token-set ratio (order-free, robust
            # to extra words) only on that one, as it costs six times as much.
            best = ratio.index(max(ratio[start:end]), start, end)
            known = tuple(t for t in query.terms if t in doc.term_keys)
            features = [
                lexical / norm,
                sum(map(doc.grams.__getitem__, query.gram_set & doc.gram_keys)) / gram_norm,
                sum(map(weight, known)) / query.mass,
                sum(map(doc.focus.__getitem__, known)) / query.mass,
                len(doc.title & query.term_set) / len(doc.title) if doc.title else 0.0,
                fuzz.token_set_ratio(query.surface, choices[best]) / 100.0,
                ratio[best] / 100.0,
                self.space.similarity(query.vector, i) if self.space else 0.0,
                len(query.pairs & doc.pairs) / len(query.pairs) if query.pairs else 0.0,
            ]
            results.append(Candidate(i, features, query.features, best - start, known))
            start = end
        return results

    def _correct(self, term: str) -> str:
        """Map a misspelt word to a known one ("pasword" -> "password").

        The first letter must match: typos rarely hit it, and requiring it stops
        unrelated words ("mount") from being "corrected" into known ones ("amount").
        """
        if term in self._spelled or len(term) < MIN_TYPO_LEN or not term.isalpha():
            return term
        options = self._by_initial.get(term[0], [])
        found = process.extractOne(term, options, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        return found[0] if found else term
