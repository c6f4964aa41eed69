"""The collector settings a started bot runs with (``bot/heap.py``)."""

from __future__ import annotations

import gc
import os
import shutil
import time
import weakref
from pathlib import Path

from bot import heap
from knowledge_base import SAMPLE_DIR
from knowledge_base.live import LiveKnowledgeBase
from tests.conftest import Chat


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_a_started_bot_has_frozen_what_it_loaded_and_raised_the_young_threshold(
    chat: Chat,
) -> None:
    assert gc.get_freeze_count() > 10_000  # the libraries' and the engine's objects
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD

    await chat.say("Hello")  # and it still answers
    assert chat.last


async def test_garbage_made_after_start_up_is_still_collected(chat: Chat) -> None:
    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle: reference counting cannot free it
    gone = weakref.ref(first)
    del first, second

    gc.collect()

    assert gone() is None


def test_a_knowledge_base_replaced_by_an_edit_after_start_up_is_freed(tmp_path: Path) -> None:
    """Frozen objects are never looked at by the collector again: the old version of an
    edited knowledge base must be freed by reference counting alone (no cycles), or
    every edit would keep a whole index alive."""
    folder = tmp_path / "kb"
    shutil.copytree(SAMPLE_DIR, folder)
    kb = LiveKnowledgeBase(folder, interval=0.0)
    kb.search("where is my parcel")  # its search memory filled too
    heap.settle()
    old = weakref.ref(kb.current)
    article = sorted(folder.glob("*.md"))[0]
    article.write_text(article.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    later = time.time_ns() + 10_000_000
    os.utime(article, ns=(later, later))

    assert kb.refresh(force=True)
    assert kb.version == 2
    gc.collect()

    assert old() is None
