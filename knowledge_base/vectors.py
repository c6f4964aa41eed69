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
import struct
import unicodedata
from array import array
from collections.abc import Callable
from functools import lru_cache
from operator import mul
from pathlib import Path
from typing import Any, Protocol

DATA_DIR = Path(__file__).parent / "wordvectors"
_MAGIC = b"KBV1"
_MAX_WORD_CHARS = 40

Vector = tuple[float, ...]
Weighted = list[tuple[str, float]]  # words of a text with their weights


class StaticVectors:
    """The word-piece table: word -> unit-length vector (or ``None`` if unknown)."""

    def __init__(self, pieces: list[str], scales: array[float], table: bytes, dim: int) -> None:
        self.dim = dim
        self._index = {piece: row for row, piece in enumerate(pieces)}
        self._scales = scales
        self._table = table
        self.word = lru_cache(maxsize=100_000)(self._word)

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> StaticVectors:
        raw = (directory / "wordpieces.bin").read_bytes()
        if raw[:4] != _MAGIC:
            msg = f"{directory / 'wordpieces.bin'} is not a word-vector table"
            raise ValueError(msg)
        count, dim = struct.unpack_from("<II", raw, 4)
        scales = array("f")
        scales.frombytes(raw[12 : 12 + 4 * count])
        pieces = (directory / "wordpieces.txt").read_text(encoding="utf-8").split("\n")[:count]
        return cls(pieces, scales, raw[12 + 4 * count :], dim)

    def _row(self, row: int) -> list[float]:
        scale = self._scales[row]
        start = row * self.dim
        return [scale * (b - 256 if b > 127 else b) for b in self._table[start : start + self.dim]]

    def _word(self, word: str) -> Vector | None:
        """Mean of the word's pieces (WordPiece, greedy longest match), unit length."""
        rows = self._pieces(word)
        if not rows:
            return None
        total = self._row(rows[0])
        for row in rows[1:]:
            total = [a + b for a, b in zip(total, self._row(row), strict=True)]
        norm = math.sqrt(sum(map(mul, total, total))) or 1.0
        return tuple(v / norm for v in total)

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
                row = self._index.get(piece)
                if row is not None:
                    rows.append(row)
                    start = end
                    break
            else:
                return []
        return rows

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
    return tuple(x / norm for x in v) if norm else None


def dot(a: Vector, b: Vector) -> float:
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
    """

    def __init__(
        self, vectors: StaticVectors, articles: list[list[str]], weight: Callable[[str], float]
    ) -> None:
        self.vectors, self.weight = vectors, weight
        dim = vectors.dim
        self._mean: Vector = (0.0,) * dim
        self._scale: Vector = (1.0,) * dim
        raw = [[m for m in map(self._raw_mean, texts) if m is not None] for texts in articles]
        everything = [m for ms in raw for m in ms]
        if len(articles) > 1 and everything:
            columns = list(zip(*everything, strict=True))
            mean = tuple(sum(c) / len(everything) for c in columns)
            spread = [
                math.sqrt(sum((x - m) ** 2 for x in c) / len(everything)) + 1e-3
                for c, m in zip(columns, mean, strict=True)
            ]
            self._mean, self._scale = mean, tuple(1.0 / s for s in spread)
        self._shifted = lru_cache(maxsize=50_000)(self._shift_word)
        self.centroids = [
            mean_direction([v for v in map(self.text, texts) if v]) for texts in articles
        ]

    def _raw_mean(self, text: str) -> Vector | None:
        pairs = [
            (v, w)
            for word in text.split()
            if (v := self.vectors.word(word)) and (w := self.weight(word)) > 0
        ]
        if not pairs:
            return None
        total = sum(w for _, w in pairs)
        return tuple(sum(v[d] * w for v, w in pairs) / total for d in range(self.vectors.dim))

    def _shift_word(self, word: str) -> Vector | None:
        vector, weight = self.vectors.word(word), self.weight(word)
        if vector is None or weight <= 0.0:
            return None
        return tuple(
            weight * (v - m) * s for v, m, s in zip(vector, self._mean, self._scale, strict=True)
        )

    def text(self, text: str) -> Vector | None:
        """Unit vector of a text (its words separated by spaces), or ``None``."""
        shifted = [v for v in map(self._shifted, text.split()) if v is not None]
        if not shifted:
            return None
        return unit(list(map(sum, zip(*shifted, strict=True))))

    def similarity(self, query: Vector | None, article: int) -> float:
        centroid = self.centroids[article]
        return dot(query, centroid) if query is not None and centroid is not None else 0.0


class SentenceModel(Protocol):
    """A sentence encoder (``knowledge_base.semantic``): texts -> unit vectors."""

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
