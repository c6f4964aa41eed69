"""CLINC150 as a knowledge base: one article per intent, ten example questions each.

The data is read where it lies (``--data``, ``$CLINC150_DATA`` or the shared folder
beside the repository); it is never copied into the repository.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from pathlib import Path

from knowledge_base import Article
from knowledge_base.vectors import SentenceModel, Vector

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "clinc150" / "data_full.json"
OOS = "oos"

Pairs = list[tuple[str, str]]


def data_path(given: str | None = None) -> Path:
    """``--data`` wins, then ``$CLINC150_DATA``, then ``../shared/data/clinc150``."""
    path = Path(given or os.environ.get("CLINC150_DATA") or DEFAULT_DATA)
    if path.is_dir():
        path = path / "data_full.json"
    if not path.is_file():
        msg = f"CLINC150 not found at {path}; pass --data or set CLINC150_DATA"
        raise SystemExit(msg)
    return path


def load(path: Path) -> dict[str, Pairs]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        split: [(str(text), str(intent)) for text, intent in rows] for split, rows in raw.items()
    }


def by_intent(pairs: Pairs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in pairs:
        grouped[intent].append(text)
    return dict(grouped)


def articles(
    train: Pairs, per_article: int = 10, copies: int = 1, *, seed: int | None = None
) -> list[Article]:
    """One article per intent from ``per_article`` of its training questions: drawn at
    random with ``seed``, else the first ones in the file's order.

    The two are not alike. ``train`` lists each intent's questions in runs of about
    five rewrites of one request ("send 50 dollars between bank of america and chase
    accounts", "send 2000 dollars between chase and rabobank accounts" ...), so the
    first ten cover an intent worse than ten drawn at random: the plain all-MiniLM-L6-v2
    centroid ranks 84.4% of ``test`` right with the first ten and 88.6-90.2% with a
    random ten (five draws), BM25 over whole articles 70.6% and 77.4-79.5%. Issue 5's
    figures (89%, 77%) are those of a random ten.

    ``copies`` > 1 adds further articles per intent from the next training
    questions (``intent-2`` ...): a bigger knowledge base with the same vocabulary,
    for measuring speed.
    """
    result = []
    draw = random.Random(seed)
    for intent, in_order in by_intent(train).items():
        questions = in_order if seed is None else draw.sample(in_order, len(in_order))
        for copy in range(copies):
            chunk = questions[copy * per_article : (copy + 1) * per_article]
            if len(chunk) < per_article:
                break
            title = intent.replace("_", " ")
            result.append(
                Article(
                    id=intent if copy == 0 else f"{intent}-{copy + 1}",
                    title=title,
                    category="other",
                    questions=tuple(chunk),
                    body=f"The answer about {title}.",
                )
            )
    return result


def unused_train(train: Pairs, kb: list[Article], per_intent: int = 30) -> Pairs:
    """Training questions not in the knowledge base ``kb``, the first ``per_intent`` of
    each intent in the file's order: queries for fitting."""
    used = {question for article in kb for question in article.questions}
    return [
        (question, intent)
        for intent, questions in by_intent(train).items()
        for question in [q for q in questions if q not in used][:per_intent]
    ]


class Prefetched:
    """A sentence model whose answers for known texts were computed in one batch.

    For measuring quality and fitting only: batching is several times faster than
    one question at a time.  Speed is always measured on the plain model.
    """

    def __init__(self, model: SentenceModel, texts: list[str]) -> None:
        unique = list(dict.fromkeys(texts))
        self._model = model
        self._known = dict(zip(unique, model.encode(unique), strict=True))

    @property
    def tuned(self) -> bool:
        return self._model.tuned

    def encode(self, texts: list[str]) -> list[Vector]:
        missing = [t for t in texts if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._model.encode(missing), strict=True))
        return [self._known[t] for t in texts]
