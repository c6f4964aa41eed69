"""Hot reload: edits go live without a restart; broken edits never take answers away."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from knowledge_base import Decision, KnowledgeBase
from knowledge_base.articles import ArticleProblem
from knowledge_base.live import LiveKnowledgeBase

PARCEL = "---\nid: parcel\ntitle: {title}\ncategory: shipping\nquestions:\n  - {q}\n---\n{body}\n"
RETURN = "---\nid: returns\ntitle: Returns\ncategory: returns_refunds\nquestions:\n  - How do I return an item?\n---\nUse the returns form.\n"  # noqa: E501


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    # Make the change visible to the signature even on coarse file-system clocks.
    stamp = time.time_ns() + 10_000_000
    import os

    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(
        tmp_path / "parcel.md",
        PARCEL.format(title="Parcels", q="Where is my parcel?", body="Version one."),
    )
    write(tmp_path / "returns.md", RETURN)
    return tmp_path


@pytest.fixture
def reports() -> list[str]:
    return []


@pytest.fixture
def live(folder: Path, reports: list[str]) -> tuple[LiveKnowledgeBase, Clock]:
    clock = Clock()

    def report(message: str, problem: ArticleProblem | None) -> None:
        reports.append(message)

    return LiveKnowledgeBase(folder, interval=2.0, report=report, clock=clock), clock


def body(kb: KnowledgeBase, article_id: str) -> str | None:
    article = kb.get(article_id)
    return article.body if article else None


def test_it_is_a_knowledge_base(live: tuple[LiveKnowledgeBase, Clock]) -> None:
    kb, _ = live

    assert isinstance(kb, KnowledgeBase)
    assert len(kb) == 2
    assert {a.id for a in kb.articles} == {"parcel", "returns"}
    result = kb.search("where is my parcel")
    assert result.decision is Decision.ANSWER
    assert result.best is not None and result.best.article.id == "parcel"


def test_an_edit_is_served_after_the_interval(
    folder: Path, live: tuple[LiveKnowledgeBase, Clock]
) -> None:
    kb, clock = live
    write(
        folder / "parcel.md",
        PARCEL.format(title="Parcels", q="Where is my parcel?", body="Version two."),
    )

    clock.now = 1.0
    assert body(kb, "parcel") == "Version one."  # not checked again yet
    clock.now = 2.5
    assert body(kb, "parcel") == "Version two."
    assert kb.version == 2


def test_new_and_deleted_articles_follow_the_folder(
    folder: Path, live: tuple[LiveKnowledgeBase, Clock]
) -> None:
    kb, clock = live
    (folder / "returns.md").unlink()
    write(folder / "gift.md", PARCEL.replace("id: parcel", "id: gift").format(
        title="Gift cards", q="How do I redeem a gift card?", body="Enter the code."))  # fmt: skip

    clock.now = 3.0
    assert {a.id for a in kb.articles} == {"parcel", "gift"}
    best = kb.search("redeem my gift card").best
    assert best is not None and best.article.id == "gift"


def test_a_broken_edit_keeps_the_last_good_version_and_is_reported(
    folder: Path, live: tuple[LiveKnowledgeBase, Clock], reports: list[str]
) -> None:
    kb, clock = live
    write(folder / "parcel.md", "---\nid: parcel\ntitle: [unclosed\n---\nOops\n")
    write(folder / "returns.md", RETURN.replace("Use the returns form.", "Use the new form."))

    clock.now = 3.0
    assert body(kb, "parcel") == "Version one."  # last good version still answers
    assert body(kb, "returns") == "Use the new form."  # the good edit went live
    assert any("parcel.md" in r and "invalid YAML" in r for r in reports)
    assert any("last good version of: parcel" in r for r in reports)
    result = kb.search("where is my parcel")
    assert result.best is not None and result.best.article.id == "parcel"

    # Fixed again: the new version replaces the kept one.
    write(
        folder / "parcel.md", PARCEL.format(title="Parcels", q="Where is my parcel?", body="Fixed.")
    )
    clock.now = 6.0
    assert body(kb, "parcel") == "Fixed."


def test_losing_every_article_keeps_the_last_good_knowledge_base(
    folder: Path, live: tuple[LiveKnowledgeBase, Clock], reports: list[str]
) -> None:
    kb, clock = live
    for path in folder.glob("*.md"):
        path.unlink()

    clock.now = 3.0
    assert len(kb) == 2
    assert any("no usable article" in r for r in reports)


def test_a_broken_synonyms_file_is_reported_and_articles_still_reload(
    folder: Path, live: tuple[LiveKnowledgeBase, Clock], reports: list[str]
) -> None:
    kb, clock = live
    write(folder / "synonyms.yaml", "parcel: [oops\n")

    clock.now = 3.0
    assert kb.search("where is my parcel").decision is Decision.ANSWER
    assert any("synonyms.yaml" in r for r in reports)


def test_background_reload_swaps_when_ready(folder: Path) -> None:
    clock = Clock()
    kb = LiveKnowledgeBase(folder, interval=0.0, background=True, clock=clock)
    write(
        folder / "parcel.md",
        PARCEL.format(title="Parcels", q="Where is my parcel?", body="Background."),
    )

    assert kb.refresh(force=True)
    deadline = time.monotonic() + 10
    while kb.version == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert body(kb, "parcel") == "Background."


def test_nothing_changed_means_no_reload(live: tuple[LiveKnowledgeBase, Clock]) -> None:
    kb, clock = live
    clock.now = 10.0

    assert kb.refresh() is False
    assert kb.version == 1


def test_in_the_background_the_folder_is_listed_off_the_callers_thread(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing 1,500 files took 20-35 ms: the event loop must not wait for it."""
    import threading

    import knowledge_base.live as live_module

    listed_on: list[threading.Thread] = []
    real = live_module.folder_signature

    def spy(directory: Path) -> live_module.Signature:
        listed_on.append(threading.current_thread())
        return real(directory)

    kb = LiveKnowledgeBase(folder, interval=0.0, background=True, clock=Clock())
    monkeypatch.setattr(live_module, "folder_signature", spy)
    write(folder / "returns.md", RETURN)

    assert kb.refresh(force=True)
    deadline = time.monotonic() + 10
    while kb.version == 1 and time.monotonic() < deadline:
        time.sleep(0.01)

    assert kb.search("how do I return an item").decision is Decision.ANSWER
    assert listed_on and threading.current_thread() not in listed_on


class _CountingModel:
    """A sentence-transformers model as ``MiniLM`` calls it, counting what it embeds."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def encode(self, texts: list[str], **options: object) -> list[list[float]]:
        self.embedded.extend(texts)
        return [[1.0, float(len(t)), float(t.count("e"))] for t in texts]


def test_with_a_sentence_model_an_edit_embeds_only_what_changed(folder: Path) -> None:
    from knowledge_base.semantic import MiniLM

    model = _CountingModel()
    clock = Clock()
    live = LiveKnowledgeBase(folder, interval=2.0, clock=clock, semantic=MiniLM(model))
    assert sorted(model.embedded) == [
        "How do I return an item?", "Parcels", "Returns", "Where is my parcel?"
    ]  # fmt: skip
    model.embedded.clear()

    write(folder / "parcel.md", PARCEL.format(title="Parcels", q="Has my parcel shipped?",
                                              body="Version two."))  # fmt: skip
    clock.now = 3.0

    assert body(live, "parcel") == "Version two."
    assert model.embedded == ["Has my parcel shipped?"]  # the rest came from the last build
    assert live.search("where is my parcel").best is not None
