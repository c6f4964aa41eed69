"""Which articles use a token (a term or a character 3-gram), and how often: compactly.

A knowledge base of 1,500 articles holds about 50,000 (article, term) and 250,000
(article, 3-gram) pairs.  As a dict and a set per article, with a float object per
pair, they took over 100 MB; here they are machine numbers in a few ``array``s:

* every token has a slot (its place in the sorted vocabulary) with its IDF, how
  many articles use it and how often it occurs in all;
* its postings - the articles using it and its count in each - lie in flat arrays,
  in article order, which is what walking a term's postings needs;
* a token used by many articles also has a dense row, one count per article, so
  that its counts in all candidate articles come out of one ``itemgetter`` call at
  C speed (as fast as the per-article dicts were); for a rare token the few
  articles using it are searched;
* a BM25 weight is ``idf x saturation[article][tf]``, each article's saturation
  curve computed once.  That is BM25's formula with the product grouped
  differently, so a weight may differ from the term-by-term product in its last
  bit - as sums over per-article sets already did from one process to the next.

Only the weights walked when collecting candidates (``walk``) are stored as floats,
computed exactly as before.  The counts are read twice (``counts`` is called twice)
instead of being kept as a ``Counter`` per article: building holds one article's
counts at a time, which leaves less of a fragmented heap behind.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSequence, Sequence
from itertools import compress, repeat
from operator import itemgetter, mul

Counts = Callable[[], Iterable[Mapping[str, int]]]
# A token used by at least this share of the articles gets a dense row.  A row costs
# a byte per article (here at most 64 per article using the token, against 3 for a
# sparse entry) and saves looking for the candidates among the sparse entries in
# Python, on every question.  With 1,500 CLINC150 articles: 2.6 MB of rows; 1/32
# would save 0.9 MB and cost 7 us a question.
DENSE_SHARE = 1 / 64
MIN_DENSE = 8


def _typecode(largest: int) -> str:
    """The smallest unsigned array type holding ``largest``."""
    for code in ("B", "H", "I"):
        if largest < 1 << (8 * array(code).itemsize):
            return code
    return "Q"


def _zeros(code: str, length: int) -> array[int]:
    return array(code, bytes(length * array(code).itemsize))


def idf(df: int, articles: int) -> float:
    """BM25's IDF of a token used by ``df`` of ``articles`` articles."""
    return math.log(1.0 + (articles - df + 0.5) / (df + 0.5))


class Postings:
    """Counts of tokens in articles, with BM25 saturation (``k1``, ``b``) per article.

    ``counts()`` yields one token -> count mapping per article, the same each time.
    ``walk_idf(token, idf)``, if given, is the IDF ``walk`` weighs a token with.
    Tokens with a dense row have the first slots, ``0 .. len(rows) - 1``: sorted
    slots list them first.
    """

    def __init__(
        self,
        counts: Counts,
        k1: float,
        b: float,
        walk_idf: Callable[[str, float], float] | None = None,
    ) -> None:
        df: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        lengths: list[int] = []
        tops: list[int] = []
        for tf in counts():
            df.update(tf.keys())
            totals.update(tf)
            lengths.append(sum(tf.values()))
            tops.append(max(tf.values(), default=0))
        size = len(lengths)
        dense_from = max(MIN_DENSE, int(DENSE_SHARE * size))
        tokens = sorted(df, key=lambda t: (df[t] < dense_from, t))
        self.slots: dict[str, int] = {token: slot for slot, token in enumerate(tokens)}
        self.idf = array("d", (idf(df[t], size) for t in tokens))
        self.frequency = array(_typecode(size), (df[t] for t in tokens))
        self.total = array(_typecode(max(totals.values(), default=0)), (totals[t] for t in tokens))
        avg = (sum(lengths) / len(lengths)) if lengths else 1.0
        # saturation[a][f] = f (k1 + 1) / (f + k1 (1 - b + b |a| / avg)): BM25 without
        # IDF, one curve per article length (articles of one length share it).
        highest: dict[int, int] = {}
        for n, top in zip(lengths, tops, strict=True):
            highest[n] = max(top, highest.get(n, 0))
        # (tuples, not arrays: few, and read without making a float object each time)
        curves = {
            n: tuple(f * (k1 + 1) / (f + k1 * (1 - b + b * n / avg)) for f in range(top + 1))
            for n, top in highest.items()
        }
        self._saturation = [curves[n] for n in lengths]
        count_code = _typecode(max(tops, default=0))
        # bytearray when counts fit in a byte: itemgetter reads it fastest.
        row: Callable[[], MutableSequence[int]]
        row = (lambda: bytearray(size)) if count_code == "B" else lambda: _zeros(count_code, size)
        rows = [row() for t in tokens if df[t] >= dense_from]
        # Dense rows serve every lookup but walks: such tokens need no postings then.
        listed = len(rows) if walk_idf is None else 0
        starts = [0] * (listed + 1)
        for token in tokens[listed:]:
            starts.append(starts[-1] + df[token])
        self._start = array(_typecode(starts[-1]), starts)
        self._docs = _zeros(_typecode(size), starts[-1])
        self._counts = _zeros(count_code, starts[-1])
        self._weights = array("d", bytes(8 * starts[-1] if walk_idf else 0))
        factor = [walk_idf(t, w) for t, w in zip(tokens, self.idf, strict=True)] if walk_idf else []
        fill = starts[:-1]
        for doc, tf in enumerate(counts()):
            norm = k1 * (1 - b + b * lengths[doc] / avg)
            for token, f in tf.items():
                slot = self.slots[token]
                if slot < len(rows):
                    rows[slot][doc] = f
                if slot < listed:
                    continue
                at = fill[slot]
                fill[slot] += 1
                self._docs[at], self._counts[at] = doc, f
                if factor:  # as records.bm25_weights did, to the last bit
                    self._weights[at] = factor[slot] * f * (k1 + 1) / (f + norm)
        self.rows: tuple[Sequence[int], ...] = tuple(rows)

    def __contains__(self, token: object) -> bool:
        return token in self.slots

    def __len__(self) -> int:
        return len(self.slots)

    def df(self, token: str) -> int:
        """How many articles use ``token`` (0 if none)."""
        slot = self.slots.get(token)
        return 0 if slot is None else self.frequency[slot]

    def walk(self, token: str) -> Iterator[tuple[int, float]]:
        """(article, BM25 weight) of every article using ``token``, in article order."""
        slot = self.slots.get(token)
        if slot is None:
            return iter(())
        start, end = self._start[slot], self._start[slot + 1]
        return zip(self._docs[start:end], self._weights[start:end], strict=True)

    def columns(
        self, slots: Sequence[int], docs: Sequence[int], dense: int = 0
    ) -> list[tuple[int, ...]]:
        """For each token slot in ``slots``, the token's count in each of ``docs``.

        The first ``dense`` slots must have rows (be below ``len(self.rows)``): they
        are read without a Python loop.
        """
        if not docs:
            return [() for _ in slots]
        get: Callable[[Sequence[int]], tuple[int, ...]]
        get = itemgetter(*docs) if len(docs) > 1 else lambda row: (row[docs[0]],)
        rows = self.rows
        found = list(map(get, map(rows.__getitem__, slots[:dense])))
        where: dict[int, int] = {}
        for slot in slots[dense:]:
            if slot < len(rows):
                found.append(get(rows[slot]))
                continue
            start, end = self._start[slot], self._start[slot + 1]
            # A rare token: look its few articles up among the candidates, at C speed.
            where = where or {doc: k for k, doc in enumerate(docs, 1)}
            at = list(map(where.get, self._docs[start:end], repeat(0)))  # 0: not a candidate
            column = [0] * len(docs)
            for k, count in compress(zip(at, self._counts[start:end], strict=True), at):
                column[k - 1] = count
            found.append(tuple(column))
        return found

    def scores(
        self, weights: Sequence[float], columns: list[tuple[int, ...]], docs: Sequence[int]
    ) -> list[float]:
        """BM25 of each of ``docs``: ``weights`` (IDF) x saturation of ``columns``' counts."""
        if not columns:
            return [0.0] * len(docs)
        saturation = self._saturation
        return [
            sum(map(mul, weights, map(saturation[doc].__getitem__, counts)))
            for doc, counts in zip(docs, zip(*columns, strict=True), strict=True)
        ]
