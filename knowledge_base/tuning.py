"""Adapting the sentence model to one knowledge base (``supportbot kb tune``).

all-MiniLM-L6-v2 knows general English, not which differences matter in *this*
knowledge base: "cancel my order" and "cancel my subscription" look alike to it.
The articles' own example questions say which phrasings belong together, so the
model is fine-tuned on them, few-shot, in the manner of SetFit: each question is
pulled towards another question of its article and pushed away from the other
articles' questions in the same batch (a contrastive loss with in-batch negatives;
every batch holds at most one pair per article, so no negative is a paraphrase).
On CLINC150 (ten questions per article, queries from ``val``) this lifts the
article centroid alone from 88.9% to 93.5% top-1; the figures with the whole ranker
are in docs/knowledge_base.md.

Tuning is a step an editor runs, like ``kb validate``, not something the bot does on
each edit: it costs minutes of CPU (about 45 s an epoch for 1,650 phrasings on two
cores).  The tuned model is an encoder, so articles edited or added later are still
embedded with it; tuning again when many have changed refreshes what it learnt.  It
is written beside a manifest (what it was tuned on, when) into a folder of its own,
replaced whole only when complete, so a bot never loads half a model.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from knowledge_base.articles import Article

MANIFEST = "supportbot-tuned.json"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Chosen on CLINC150 val (centroid top-1 after 3 epochs): lr 2e-5 92.5%, 5e-5 93.5%.
LEARNING_RATE = 5e-5
EPOCHS = 3
BATCH = 32
SCALE = 20.0  # cosine -> logit: the usual temperature of in-batch contrastive losses

Pair = tuple[str, str, int]  # a text, another text of the same article, the article


class TuningError(ValueError):
    """The articles cannot teach the model anything (too few of them)."""


@dataclass(frozen=True)
class Manifest:
    """What a tuned model was tuned on; kept beside it as ``supportbot-tuned.json``."""

    base: str
    created: str
    epochs: int
    seed: int
    seconds: float
    articles: dict[str, str]  # article id -> fingerprint of its title and questions

    def changed_since(self, articles: Sequence[Article]) -> int:
        """How many of ``articles`` are new or were edited since the model was tuned."""
        return sum(self.articles.get(a.id) != fingerprint(a) for a in articles)


def fingerprint(article: Article) -> str:
    text = "\n".join((article.title, *article.questions))
    return sha256(text.encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a tuned model in ``folder``; ``None`` if there is none."""
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (OSError, ValueError, TypeError):
        return None


def training_texts(articles: Sequence[Article]) -> list[list[str]]:
    """Each article's questions and title: the phrasings that belong together."""
    return [[*dict.fromkeys((*a.questions, a.title))] for a in articles]


def check(articles: Sequence[Article]) -> int:
    """The number of phrasings to learn from; ``TuningError`` when they teach nothing:
    fewer than two articles with two phrasings (a question and a title count)."""
    groups = training_texts(articles)
    if sum(len(g) > 1 for g in groups) < 2:
        msg = "tuning needs at least two articles with a question each"
        raise TuningError(msg)
    return sum(map(len, groups))


def hold_out(articles: Sequence[Article]) -> tuple[list[Article], list[tuple[str, str]]]:
    """For ``kb tune --check``: the articles without their last question, where they
    have three or more, and the questions taken out with their article's id."""
    kept, held = [], []
    for a in articles:
        if len(a.questions) >= 3:
            kept.append(replace(a, questions=a.questions[:-1]))
            held.append((a.questions[-1], a.id))
        else:
            kept.append(a)
    return kept, held


def batches(groups: list[list[str]], size: int, rng: random.Random) -> list[list[Pair]]:
    """One epoch: every text with another of its article, in batches where no article
    appears twice (another article's text is always a true negative)."""
    pairs = [
        (text, rng.choice([o for o in group if o != text]), article)
        for article, group in enumerate(groups)
        if len(group) > 1
        for text in group
    ]
    rng.shuffle(pairs)
    result: list[list[Pair]] = []
    while pairs:
        batch: list[Pair] = []
        seen: set[int] = set()
        rest: list[Pair] = []
        for pair in pairs:
            if len(batch) < size and pair[2] not in seen:
                batch.append(pair)
                seen.add(pair[2])
            else:
                rest.append(pair)
        result.append(batch)
        pairs = rest
    return result


def tune(
    model: Any,
    articles: Sequence[Article],
    *,
    epochs: int = EPOCHS,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Fine-tune ``model`` (a sentence-transformers model) in place on the articles.

    ``progress(done, total)`` is called after every batch.  Raises ``TuningError``
    when the articles teach nothing (``check``).
    """
    import torch

    check(articles)
    groups = training_texts(articles)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.monotonic()
    plan = [batches(groups, BATCH, rng) for _ in range(epochs)]
    total, done = sum(map(len, plan)), 0
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    prepare = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers < 6
    model.train()
    try:
        for epoch in plan:
            for batch in epoch:
                if len(batch) > 1:  # a lone pair has no negative to learn from
                    _step(model, prepare, optimizer, batch, torch)
                done += 1
                if progress is not None:
                    progress(done, total)
    finally:
        model.eval()
    return Manifest(
        base=BASE_MODEL,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        epochs=epochs,
        seed=seed,
        seconds=round(time.monotonic() - started, 1),
        articles={a.id: fingerprint(a) for a in articles},
    )


def _step(model: Any, prepare: Any, optimizer: Any, batch: list[Pair], torch: Any) -> None:
    """One contrastive step: row i's partner is column i; the rest are negatives."""
    functional = torch.nn.functional
    anchors = functional.normalize(model(prepare([p[0] for p in batch]))["sentence_embedding"])
    partners = functional.normalize(model(prepare([p[1] for p in batch]))["sentence_embedding"])
    logits = anchors @ partners.T * SCALE
    labels = torch.arange(len(batch))
    loss = functional.cross_entropy(logits, labels) + functional.cross_entropy(logits.T, labels)
    optimizer.zero_grad()
    (loss / 2).backward()
    optimizer.step()


def prepare_folder(folder: Path) -> None:
    """Fail before minutes of tuning, not after, when ``folder`` cannot be written
    (``OSError``): its parent is created and a scratch folder made beside it."""
    if folder.exists() and not (folder / MANIFEST).is_file() and any(folder.iterdir()):
        msg = f"{folder} holds other files; name an empty or new folder"
        raise OSError(msg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(folder)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()


def save(model: Any, manifest: Manifest, folder: Path) -> None:
    """Write the model and its manifest into ``folder``, replacing any model there only
    once the new one is complete (a bot starting meanwhile loads the old one whole)."""
    prepare_folder(folder)
    partial = _partial(folder)
    model.save(str(partial), create_model_card=False)
    (partial / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    partial.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _partial(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.partial")
