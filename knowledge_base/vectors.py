"""Static word vectors distilled from all-MiniLM-L6-v2, for paraphrase-aware matching.

Exact words miss paraphrases: "cellphone" for "phone", "motel" for "hotel".  The
table in ``wordvectors/`` holds one 128-dimensional vector per word piece of the
all-MiniLM-L6-v2 vocabulary, distilled from that model by
``benchmarks/build_static_vectors.py`` (Model2Vec-style: every piece run through the
model alone, centred, reduced with PCA, stored as int8).  A text's vector is the
weighted mean of its words' vectors, computed in pure Python, so the default install
needs neither torch nor numpy.  On CLINC150 this signal alone ranks about as well as
BM25, and the two disagree often enough that fusing them gains several points.

The model is Apache-2.0 licensed (sentence-transformers/all-MiniLM-L6-v2).
"""

from __future__ import annotations

import importlib
import logging
import math
import mmap
import struct
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from itertools import repeat
from operator import add, mul, sub, truediv
from pathlib import Path
from typing import Any, Protocol

DATA_DIR = Path(__file__).parent / "wordvectors"
_MAGIC = b"KBV1"
_MAX_WORD_CHARS = 40

Vector = tuple[float, ...]


class Texts(Protocol):
    """Each article's texts, read on several passes (a list, or ``terms.Surfaces``)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...


Weighted = list[tuple[str, float]]  # words of a text with their weights


class StaticVectors:
    """The word-piece table: word -> unit-length vector (or ``None`` if unknown).

    The table stays the file's bytes (int8, one row per piece); a word's vector is
    computed when asked for and not kept: a knowledge base keeps what it needs
    (``VectorSpace``), and a cache of 128-float tuples per word cost 4 KB a word.
    Pieces are found by bisection in sorted order: a dict of the 28,000 pieces cost
    1.3 MB more, and a sorted list of them 1.6 MB more than ``BUCKET`` pieces to a
    string (``_find``), for lookups that only words new to a knowledge base need.
    """

    BUCKET = 16

    def __init__(
        self, pieces: list[str], scales: array[float], table: bytes | memoryview, dim: int
    ) -> None:
        self.dim = dim
        order = sorted(range(len(pieces)), key=pieces.__getitem__)
        size = self.BUCKET
        # Sorted pieces, BUCKET to a string ("\npiece\n...\npiece\n"), and each
        # string's first piece to bisect on.
        buckets = [order[at : at + size] for at in range(0, len(order), size)]
        self._heads = [pieces[rows[0]] for rows in buckets]
        self._buckets = ["\n" + "\n".join(pieces[row] for row in rows) + "\n" for rows in buckets]
        self._rows = array("I", order)
        self._scales = scales
        self._table = memoryview(table).cast("b")  # signed bytes, without copying

    def release(self) -> None:
        """Drop the table's pages from this process's resident memory (after a build).

        The table is mapped from the file, not read: a page counts in the resident set
        only once touched, and a knowledge base's build touches most of them (3.5 MB).
        They stay in the page cache; a later lookup maps its page back.
        """
        table = self._table.obj
        if isinstance(table, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            table.madvise(mmap.MADV_DONTNEED)

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> StaticVectors:
        with (directory / "wordpieces.bin").open("rb") as file:
            raw = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        if raw[:4] != _MAGIC:
            msg = f"{directory / 'wordpieces.bin'} is not a word-vector table"
            raise ValueError(msg)
        count, dim = struct.unpack_from("<II", raw, 4)
        scales = array("f")
        scales.frombytes(raw[12 : 12 + 4 * count])
        pieces = (directory / "wordpieces.txt").read_text(encoding="utf-8").split("\n")[:count]
        return cls(pieces, scales, memoryview(raw)[12 + 4 * count :], dim)

    def _row(self, row: int) -> list[float]:
        scale = self._scales[row]
        start = row * self.dim
        return list(map(mul, repeat(scale), self._table[start : start + self.dim]))

    def word(self, word: str) -> Vector | None:
        """Mean of the word's pieces (WordPiece, greedy longest match), unit length."""
        rows = self._pieces(word)
        if not rows:
            return None
        total = self._row(rows[0])
        for row in rows[1:]:
            total = list(map(add, total, self._row(row)))
        norm = math.sqrt(sum(map(mul, total, total))) or 1.0
        return tuple(map(truediv, total, repeat(norm)))

    def _pieces(self, word: str) -> list[int]:
        word = "".join(
            ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) != "Mn"
        )
        if not word or len(word) > _MAX_WORD_CHARS:
            return []
        rows: list[int] = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                row = self._find(piece)
                if row is not None:
                    rows.append(row)
                    start = end
                    break
            else:
                return []
        return rows

    def knows(self, word: str) -> bool:
        """Whether ``word`` is a whole piece of the vocabulary: about 20,000 common English
        words are (``shown``, ``compliant``), few misspellings (``recieve``) are."""
        return self._find(word) is not None

    def _find(self, piece: str) -> int | None:
        """The row of ``piece`` (the last one, were it listed twice), or ``None``."""
        # The last bucket starting at or before the piece holds it (or its last copy).
        at = bisect_right(self._heads, piece) - 1
        if at < 0 or "\n" in piece:
            return None
        bucket = self._buckets[at]
        found = bucket.rfind("\n" + piece + "\n")
        if found < 0:
            return None
        return self._rows[at * self.BUCKET + bucket.count("\n", 0, found)]

    def embed(self, weighted_words: Weighted) -> Vector | None:
        """Weighted mean of the words' vectors, unit length; ``None`` if none is known."""
        vectors, weights = [], []
        for word, weight in weighted_words:
            vector = self.word(word)
            if vector is not None and weight > 0.0:
                vectors.append(vector)
                weights.append(weight)
        if not vectors:
            return None
        return unit([sum(map(mul, column, weights)) for column in zip(*vectors, strict=True)])


def unit(v: Vector | list[float]) -> Vector | None:
    norm = math.sqrt(sum(map(mul, v, v)))
    return tuple(map(truediv, v, repeat(norm))) if norm else None


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    total: float = sum(map(mul, a, b))
    return total


def mean_direction(vectors: list[Vector]) -> Vector | None:
    """Unit-length mean of unit vectors: an article's centroid."""
    if not vectors:
        return None
    return unit([sum(column) for column in zip(*vectors, strict=True)])


class VectorSpace:
    """Texts and article centroids in one knowledge base's own vector space.

    A text is the weighted mean of its words' vectors (``weight`` gives a word's
    weight, e.g. its IDF).  Averaged vectors share a large common direction ("this is
    a question"), so raw cosines between any two questions are high; subtracting the
    knowledge base's mean and scaling each dimension by its spread keeps what tells
    its articles apart (on CLINC150 val: +1.2 points top-1).  Because that shift is
    affine, each word's shifted, weighted vector is cached and a question costs one
    sum of a few vectors.

    Memory: centroids are kept as machine floats (``array``), 1 KB an article; the
    articles' words are vectorised once, into one flat buffer dropped after the
    build; questions' words are cached, as machine floats, for the last
    ``WORD_CACHE`` words.  The arithmetic is the same as with tuples, to the bit,
    but for the cosine (``similarity``).
    """

    WORD_CACHE = 4096

    def __init__(
        self, vectors: StaticVectors, articles: Texts, weight: Callable[[str], float]
    ) -> None:
        self.vectors, self.weight = vectors, weight
        dim = self.dim = vectors.dim
        self._mean: Vector = (0.0,) * dim
        self._scale: Vector = (1.0,) * dim
        # Every distinct word of the articles, vectorised once: word -> row in `table`.
        rows: dict[str, int] = {}
        table = array("d")
        for word in dict.fromkeys(w for texts in articles for text in texts for w in text.split()):
            vector = vectors.word(word)
            if vector is not None and weight(word) > 0:
                rows[word] = len(rows)
                table.extend(vector)
        means = array("d")
        for texts in articles:
            for text in texts:
                means.extend(self._raw_mean(text, rows, table))
        count = len(means) // dim
        if len(articles) > 1 and count:
            mean = tuple(sum(means[d::dim]) / count for d in range(dim))
            spread = [
                math.sqrt(sum((x - m) ** 2 for x in means[d::dim]) / count) + 1e-3
                for d, m in enumerate(mean)
            ]
            self._mean, self._scale = mean, tuple(1.0 / s for s in spread)
        del means
        for word, row in rows.items():  # the table now holds the shifted vectors
            at = slice(row * dim, (row + 1) * dim)
            table[at] = self._shift(table[at], weight(word))

        def built(word: str) -> array[float] | None:
            row = rows.get(word)
            return None if row is None else table[row * dim : (row + 1) * dim]

        self.centroids: list[array[float] | None] = []
        for texts in articles:
            centroid = mean_direction([v for v in (self._text(t, built) for t in texts) if v])
            self.centroids.append(None if centroid is None else array("d", centroid))
        self._shifted = lru_cache(maxsize=self.WORD_CACHE)(self._shift_word)

    def _raw_mean(self, text: str, rows: dict[str, int], table: array[float]) -> Vector:
        """Weighted mean of the text's word vectors (not unit length); () if none."""
        dim = self.dim
        found = [(rows[w], self.weight(w)) for w in text.split() if w in rows]
        if not found:
            return ()
        vectors = [table[row * dim : (row + 1) * dim] for row, _ in found]
        weights = [w for _, w in found]
        total = sum(weights)
        return tuple(
            sum(map(mul, column, weights)) / total for column in zip(*vectors, strict=True)
        )

    def _shift(self, vector: Sequence[float], weight: float) -> array[float]:
        """A word's vector shifted into the knowledge base's space, times its weight."""
        shifted = map(mul, repeat(weight), map(sub, vector, self._mean))  # weight * (v - m)
        return array("d", map(mul, shifted, self._scale))

    def _shift_word(self, word: str) -> array[float] | None:
        vector, weight = self.vectors.word(word), self.weight(word)
        if vector is None or weight <= 0.0:
            return None
        return self._shift(vector, weight)

    @staticmethod
    def _text(text: str, shifted: Callable[[str], Sequence[float] | None]) -> Vector | None:
        vectors = [v for v in map(shifted, text.split()) if v is not None]
        if not vectors:
            return None
        return unit(list(map(sum, zip(*vectors, strict=True))))

    def text(self, text: str) -> Vector | None:
        """Unit vector of a text (its words separated by spaces), or ``None``."""
        return self._text(text, self._shifted)

    def similarity(self, query: Vector | None, article: int) -> float:
        """Cosine with the article's centroid, from their distance as both have unit
        length: 1 - |q - c|^2 / 2.  ``math.dist`` runs in C, at a third of the cost of
        a Python sum of 128 products, and agrees with it to the last bits."""
        centroid = self.centroids[article]
        if query is None or centroid is None:
            return 0.0
        return 1.0 - math.dist(query, centroid) ** 2 / 2.0


class SentenceModel(Protocol):
    """A sentence encoder (``knowledge_base.semantic``): texts -> unit vectors."""

    @property
    def tuned(self) -> bool:
        """Fine-tuned on the articles (``supportbot kb tune``): the ranker has weights
        fitted for such a model, whose cosines run higher."""
        ...

    def encode(self, texts: list[str]) -> list[Vector]: ...


class SentenceSpace:
    """Article centroids from a sentence model: the semantic ranker's vector signal.

    Like ``VectorSpace``, it works in the knowledge base's own space: every embedding
    has the mean of the articles' question embeddings subtracted, so what all support
    questions share does not count.  An article's centroid is the mean direction of its
    questions with the title counted ``TITLE_WEIGHT`` times: the title names the topic
    the paraphrases circle around (on CLINC150 val, against the plain centroid of the
    questions and the title: +1.0 point top-1 alone, +0.6 fused with the lexical
    evidence).
    """

    TITLE_WEIGHT = 2.0

    def __init__(self, model: SentenceModel, articles: list[tuple[list[str], str]]) -> None:
        """``articles``: each article's questions and its title."""
        self.model = model
        flat = [text for questions, title in articles for text in (*questions, title)]
        encoded = iter(model.encode(flat)) if flat else iter(())
        embedded = [
            ([next(encoded) for _ in questions], next(encoded)) for questions, _ in articles
        ]
        every_question = [v for questions, _ in embedded for v in questions]
        dim = len(every_question[0]) if every_question else 0
        self._mean: Vector = ()
        if len(articles) > 1 and every_question:
            columns = zip(*every_question, strict=True)
            self._mean = tuple(sum(column) / len(every_question) for column in columns)
        self.centroids: list[Vector | None] = []
        for questions, title in embedded:
            shifted = [v for v in map(self._shift, questions) if v is not None]
            centred_title = self._shift(title)
            if centred_title is not None:
                shifted.append(tuple(self.TITLE_WEIGHT * x for x in centred_title))
            total = [sum(column) for column in zip(*shifted, strict=True)] if shifted else []
            self.centroids.append(unit(total) if total else None)
        self._matrix: Any = None
        try:  # numpy comes with the semantic extra (torch needs it)
            numpy = importlib.import_module("numpy")

            rows = [c if c is not None else (0.0,) * dim for c in self.centroids]
            self._matrix = numpy.array(rows, dtype=numpy.float32) if dim else None
        except ImportError:  # pragma: no cover - a model without numpy
            pass

    def _shift(self, vector: Vector) -> Vector | None:
        """Unit length after subtracting the knowledge base's mean question."""
        if not self._mean:
            return vector
        return unit([v - m for v, m in zip(vector, self._mean, strict=True)])

    def nearest(self, query: Vector | None, count: int) -> list[int]:
        """The ``count`` articles closest in meaning: candidates words alone would miss."""
        if query is None or self._matrix is None:
            return []
        numpy = importlib.import_module("numpy")
        scores = self._matrix @ numpy.asarray(query, dtype=numpy.float32)
        return [int(i) for i in numpy.argsort(-scores)[:count]]

    def text(self, text: str) -> Vector | None:
        """The text's embedding, centred like the articles' (``None`` for no text)."""
        return self._shift(self.model.encode([text])[0]) if text else None

    def similarity(self, query: Vector | None, article: int) -> float:
        centroid = self.centroids[article]
        return dot(query, centroid) if query is not None and centroid is not None else 0.0


@lru_cache(maxsize=1)
def default_vectors() -> StaticVectors | None:
    """The bundled table, loaded once; ``None`` (and a warning) if it is missing.

    Without it matching still works, on words alone, but less well: the ranker's
    weights assume the vectors are there.
    """
    try:
        return StaticVectors.load()
    except (OSError, ValueError, struct.error) as exc:
        logging.getLogger("supportbot.kb").warning(
            "static word vectors unavailable (%s); matching on words only", exc
        )
        return None
