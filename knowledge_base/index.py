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

Memory: a bot holds its knowledge base all day, so the index keeps no Python object
per (article, word): term and 3-gram counts live in ``postings.Postings`` (machine
integers), each article's title and word pairs in a ``records.Doc`` as strings of
one character per term, the centroids as machine floats.  The evidence of the
candidates is read from them with ``itemgetter``, ``map`` and ``compress``, at C
speed; 1,500 articles take about 10 MB instead of 240.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache
from itertools import compress, repeat
from operator import itemgetter, mul, neg, truediv

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge_base.articles import Article
from knowledge_base.postings import Postings
from knowledge_base.records import PAIR_END, Candidate, Doc, Query, code, grams, pairs
from knowledge_base.terms import STOP_TERMS, Analyzer, Surfaces, stem, surface
from knowledge_base.vectors import (
    SentenceModel,
    SentenceSpace,
    StaticVectors,
    VectorSpace,
)

K1, B = 3.0, 0.75
CHAR_K1, CHAR_B = 3.0, 1.0
TITLE_REPEAT = 2
# Terms in more than this share of articles only re-score candidates found through
# rarer terms: walking the postings of "the" or "my" would cost the most and decide
# the least.
COMMON_SHARE = 0.05
MIN_COMMON = 30
TOP_UP_SCAN = 100
MAX_QUERY_TERMS = 32
# Typos: stems of at least MIN_TYPO_LEN letters are corrected within one edit, of at
# least LONG_TYPO_LEN within two (``_correct``).
MIN_TYPO_LEN, LONG_TYPO_LEN = 5, 9
STOP_WEIGHT = 0.3
FEATURES = ("bm25", "chars", "coverage", "focus", "title", "fuzzy", "ratio", "vector", "pairs")
# About the question alone: how much of it no article knows, and how short it is.
QUERY_FEATURES = ("unknown", "brevity")


def _damped(term: str, idf: float) -> float:
    """Function words weigh little whatever the size of the knowledge base."""
    return idf * STOP_WEIGHT if term in STOP_TERMS else idf


class LexicalIndex:
    """Everything about the articles that does not depend on the query.

    Terms and 3-grams are counted in ``Postings`` (``terms``, ``grams``); each
    article keeps a ``Doc``; the vectors live in ``space``.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        analyzer: Analyzer,
        vectors: StaticVectors | None,
        semantic: SentenceModel | None = None,
    ) -> None:
        self.analyzer = analyzer
        self._language = vectors  # its vocabulary tells words from typos (``_correct``)
        count = len(articles)
        all_texts = [(*a.questions, *[a.title] * TITLE_REPEAT, *a.tags) for a in articles]
        surfaces = Surfaces(all_texts)
        del all_texts
        # The vectors first: their build makes and drops the most small objects, and
        # what the index keeps, made afterwards, fills the room they leave (built last,
        # they left the allocator holding empty pools among the index's objects).
        # Word weights for the vectors: IDF over single phrasings, not articles.
        shown_count = [len(a.questions) + 1 for a in articles]
        texts = surfaces.heads(shown_count)
        stem_df = Counter(t for ss in texts for s in ss for t in {stem(w) for w in s.split()})
        n = sum(shown_count) + 1
        self._stem_idf = {t: math.log(n / (df + 1)) for t, df in stem_df.items()}
        self._stem_unknown = math.log(n)
        self.space: VectorSpace | SentenceSpace | None = None
        if semantic is not None:
            self.space = SentenceSpace(semantic, [(list(a.questions), a.title) for a in articles])
        elif vectors is not None:
            self.space = VectorSpace(vectors, texts, self._word_weight)
        # Terms and 3-grams are counted again on each pass rather than kept: building
        # then holds a few objects per text, not per word.
        self.terms = Postings(
            lambda: (Counter(t for s in doc for t in analyzer.of_surface(s)) for doc in surfaces),
            K1,
            B,
            _damped,
        )
        self.grams = Postings(
            lambda: (Counter(g for s in doc for g in grams(s)) for doc in surfaces),
            CHAR_K1,
            CHAR_B,
        )
        self.unknown_weight = math.log(1.0 + (count + 0.5) / 0.5)
        slots = self.terms.slots
        self.docs = []
        for article, own in zip(articles, surfaces, strict=True):
            terms = [analyzer.of_surface(s) for s in own]
            title = terms[len(article.questions)]
            phrased = dict.fromkeys(p for ts in terms for p in pairs(ts))
            shown = own[: len(article.questions) + 1]
            self.docs.append(
                Doc(
                    title="".join(dict.fromkeys(code(slots[t]) for t in title)),
                    pairs="".join(code(slots[a]) + code(slots[b]) + PAIR_END for a, b in phrased),
                    surfaces="\n".join(shown),
                )
            )
        self._common = max(MIN_COMMON, int(COMMON_SHARE * count))
        # Typos are corrected on stems before synonyms apply, against every word the
        # articles use and every variant in the synonyms ("parcle" -> "parcel"), and the
        # word put back as the articles spell it most often, for the evidence that reads
        # the text (character 3-grams, fuzzy ratios, word vectors).
        used = Counter(w for doc in surfaces for s in doc for w in s.split())
        self._spelled: dict[str, str] = {}
        for word, _ in used.most_common():
            self._spelled.setdefault(stem(word), word)
        del used
        for variant in analyzer.synonyms.mapping if analyzer.synonyms else ():
            for term in variant.split():
                self._spelled.setdefault(term, term)
        by_initial: dict[str, list[str]] = defaultdict(list)
        for term in sorted(self._spelled):
            by_initial[term[0]].append(term)
        self._by_initial = dict(by_initial)
        self.correct = lru_cache(maxsize=20_000)(self._correct)

    def _word_weight(self, word: str) -> float:
        term = stem(word)
        return self._stem_idf.get(term, 0.1 if term in STOP_TERMS else self._stem_unknown)

    def analyse(self, text: str) -> Query:
        corrections: dict[str, str] = {}
        words = self._respace(surface(text).split()[: 4 * MAX_QUERY_TERMS], corrections)
        for at, word in enumerate(words):
            fixed = self.correct(word)
            if fixed != word:
                corrections[word] = words[at] = fixed
        # From here on the question is read as corrected, by every piece of evidence.
        text_surface = " ".join(words)
        found = self.analyzer.fold(list(map(stem, words)))
        slots, idf = self.terms.slots, self.terms.idf
        terms: dict[str, float] = {}
        for term in list(dict.fromkeys(found))[:MAX_QUERY_TERMS]:
            slot = slots.get(term)
            weight = None if slot is None else idf[slot]
            if term in STOP_TERMS:
                # Function words count, but little, whatever the size of the knowledge
                # base: in 30 articles "with" is as rare as a topic word.
                weight = STOP_WEIGHT * (weight or 0.0)
            elif weight is None:
                weight = self.unknown_weight
            terms.setdefault(term, weight)
        # The 3-grams some article has, dense rows first (``Postings.columns``).
        gram_postings = self.grams
        found_grams = grams(text_surface)
        gram_slots = sorted([s for s in map(gram_postings.slots.get, found_grams) if s is not None])
        gram_weights = tuple(map(gram_postings.idf.__getitem__, gram_slots))
        unknown_grams = len(found_grams) - len(gram_slots)
        space = self.space
        sentence = text if isinstance(space, SentenceSpace) else text_surface
        vector = space.text(sentence) if space and terms else None
        mass = sum(terms.values())
        unknown = sum(w for t, w in terms.items() if t not in slots)
        content = sum(1 for t in terms if t not in STOP_TERMS)
        known = tuple(filter(slots.__contains__, terms))
        known_slots = tuple(map(slots.__getitem__, known))
        phrased = frozenset(pairs(found))
        return Query(
            terms=terms,
            mass=mass,
            corrections=corrections,
            surface=text_surface,
            gram_mass=sum(gram_weights) + unknown_grams * self.unknown_weight,
            pairs=phrased,
            vector=vector,
            features=(unknown / mass if mass else 1.0, 1.0 / (1 + content)),
            known=known,
            known_slots=known_slots,
            codes=frozenset(map(code, known_slots)),
            pair_codes=tuple(
                code(slots[a]) + code(slots[b]) for a, b in phrased if a in slots and b in slots
            ),
            gram_slots=tuple(gram_slots),
            gram_weights=gram_weights,
            dense_grams=bisect_left(gram_slots, len(gram_postings.rows)),
        )

    def candidates(self, query: Query, limit: int) -> list[Candidate]:
        """The ``limit`` articles with the best BM25, with all their evidence."""
        if query.mass <= 0.0:
            return []
        postings = self.terms
        rare = [t for t in query.terms if postings.df(t) <= self._common]
        partial: dict[int, float] = defaultdict(float)
        for term in rare or query.terms:
            for i, weight in postings.walk(term):
                partial[i] += weight
        best = sorted(partial.items(), key=itemgetter(1), reverse=True)[: limit * 2]
        top = [i for i, _ in best]
        scored = zip(self._bm25(query, top, partial if rare else None), map(neg, top), strict=True)
        full = sorted(scored, reverse=True)[:limit]
        found = [-negative for _, negative in full]
        bm25 = [score for score, _ in full]
        if isinstance(self.space, SentenceSpace):
            taken = set(found)
            extra = [i for i in self.space.nearest(query.vector, limit) if i not in taken]
            found += extra
            bm25 += self._bm25(query, extra)
        if len(found) < min(limit, len(self.docs)):
            extra = self._top_up(query, found, limit - len(found))
            found += extra
            bm25 += self._bm25(query, extra)
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

    def _bm25(
        self, query: Query, docs: list[int], partial: dict[int, float] | None = None
    ) -> list[float]:
        """BM25 of ``docs``; ``partial`` holds their sums over the rare terms already."""
        if not docs:
            return []
        postings = self.terms
        terms, slots = query.known, query.known_slots
        if partial is not None:
            common = [postings.frequency[s] > self._common for s in slots]
            terms, slots = tuple(compress(terms, common)), tuple(compress(slots, common))
        weights = [query.terms[t] for t in terms]
        scores = postings.scores(weights, postings.columns(slots, docs), docs)
        if partial is None:
            return scores
        return [partial[i] + score for i, score in zip(docs, scores, strict=True)]

    def _evidence(self, query: Query, found: list[int], bm25: list[float]) -> list[Candidate]:
        norm = (K1 + 1.0) * query.mass
        gram_norm = (CHAR_K1 + 1.0) * query.gram_mass or 1.0
        grams = self.grams
        counted = grams.columns(query.gram_slots, found, query.dense_grams)
        chars = grams.scores(query.gram_weights, counted, found)
        postings, known, slots = self.terms, query.known, query.known_slots
        weights = [query.terms[t] for t in known]
        idf = list(map(postings.idf.__getitem__, slots))
        total = list(map(postings.total.__getitem__, slots))
        columns = postings.columns(slots, found)
        counts = zip(*columns, strict=True) if columns else repeat((), len(found))
        space, vector = self.space, query.vector
        cosines = map(space.similarity, repeat(vector), found) if space else [0.0] * len(found)
        text, mass, codes, pair_codes = query.surface, query.mass, query.codes, query.pair_codes
        pair_count = len(query.pairs)
        docs, results = self.docs, []
        for i, lexical, char, tf, cosine in zip(found, bm25, chars, counts, cosines, strict=True):
            doc = docs[i]
            # The closest wording by plain ratio (the first of equals); token-set ratio
            # (order-free, robust to extra words) only on that one, as it costs six
            # times as much.
            closest, ratio, phrasing = process.extractOne(
                text, doc.surfaces.split("\n"), scorer=fuzz.ratio
            )
            # Share of a term's occurrences that are in this article, times its IDF.
            focus = map(truediv, map(mul, compress(idf, tf), filter(None, tf)), compress(total, tf))
            title = doc.title
            features = [
                lexical / norm,
                char / gram_norm,
                sum(compress(weights, tf)) / mass,
                sum(focus) / mass,
                sum(map(codes.__contains__, title)) / len(title) if title else 0.0,
                fuzz.token_set_ratio(text, closest) / 100.0,
                ratio / 100.0,
                cosine,
                sum(map(doc.pairs.__contains__, pair_codes)) / pair_count if pair_count else 0.0,
            ]
            matched = tuple(compress(known, tf))
            results.append(Candidate(i, features, query.features, phrasing, matched))
        return results

    def _correct(self, word: str) -> str:
        """A misspelt word as the articles spell it ("pasword" -> "password").

        Compared on stems, so "chargd" is as near "charge" as "charged" is: within one
        edit, or two for a long word, a swap of neighbouring letters counting as one
        (optimal string alignment: "acount", "acconut"). The correction must begin with
        the word's first letter, or its second for a swap of the first two ("apssword"):
        that stops unrelated words ("mount") from being "corrected" into known ones
        ("amount"). A word some article has, a short one and one with digits stay, and
        so does a word of the language the articles do not use ("shown", "compliant":
        the static vectors' vocabulary; a question about something else keeps its words).
        """
        term = stem(word)
        if term in self._spelled or len(term) < MIN_TYPO_LEN or not term.isalpha():
            return word
        if self._language is not None and self._language.knows(word):
            return word
        options = self._by_initial.get(term[0], [])
        if term[1] != term[0]:
            options = options + self._by_initial.get(term[1], [])
        edits = 2 if len(term) >= LONG_TYPO_LEN else 1
        found = process.extractOne(term, options, scorer=OSA.distance, score_cutoff=edits)
        return self._spelled[found[0]] if found else word

    def _respace(self, words: list[str], corrections: dict[str, str]) -> list[str]:
        """Undo a space typed a letter early or late ("mya ccount" -> "my account"):
        where a word of two neighbours is unknown, and moving the letter at their
        boundary to the other word makes both known (recorded in ``corrections``)."""
        known = self._spelled
        for at in range(len(words) - 1):
            first, second = words[at], words[at + 1]
            if stem(first) in known and stem(second) in known:
                continue
            for left, right in ((first[:-1], first[-1] + second), (first + second[0], second[1:])):
                if left and right and stem(left) in known and stem(right) in known:
                    corrections[f"{first} {second}"] = f"{left} {right}"
                    words[at], words[at + 1] = left, right
                    break
        return words
