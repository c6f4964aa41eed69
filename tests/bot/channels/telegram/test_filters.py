"""Every update is routed in the event loop's own thread: no filter hops to a worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.bot.channels.telegram.conftest import Bench


async def test_routing_a_customer_and_an_agent_never_leaves_the_event_loop_thread(
    tg: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[str] = []
    to_thread = asyncio.to_thread

    async def recorded(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", recorded)
    anna = tg.customer("Anna", 111)
    bob = tg.agent("Bob", 501)
    await anna.says("hi")
    await anna.says("How do I exchange an item for another size?")
    await anna.taps("No")  # a tap, routed past the desk's router to the customers'
    await anna.says("Can I talk to a human, please?")
    await tg.topic(1)
    await bob.taps(1, "Claim")  # a tap in the agents' forum
    await bob.says(1, "Hello Anna, I can help.")  # a post in the case's topic
    assert anna.news()[-1].endswith("Hello Anna, I can help.")
    await bob.says(1, "/whatever")  # an unknown command: the desk's help
    assert hops == []
