"""The collector settings a started bot runs with (``bot/heap.py``)."""

from __future__ import annotations

import gc
import weakref

from bot import heap
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
