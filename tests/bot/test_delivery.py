"""Delivery's "sent" marks: written in groups after a short wait for company, never
holding up a caller who asks for everything to be delivered."""

from __future__ import annotations

import asyncio

import pytest

from bot import delivery
from bot.app import App, running_app
from bot.messages import Message
from bot.settings import Settings
from tests.conftest import Clock, Recorder, statements


def hello(user: str) -> Message:
    return Message("test", user, user, "hi", message_id=f"{user}-1", user_name=user.title())


async def pending(app: App) -> int:
    async with app.repo.transaction() as tx:
        return len(await tx.pending_outbox(["test", "desk"]))


async def test_greetings_sent_to_many_customers_are_marked_sent_together(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MARK_LINGER", 2.0)  # a slow machine is not a failure
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        with statements(app.repo.engine) as seen:
            # one after another, as a quiet day's customers would write
            for n in range(10):
                await app.engine.handle_message(hello(f"user{n}"))
            await app.engine.deliver()  # all of it: the marks are written now
            assert await pending(app) == 0
        assert seen["UPDATE outbox SET"] == 1  # the marks: no delivery failed


async def test_delivering_everything_does_not_wait_for_the_marks_company(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MARK_LINGER", 30.0)
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await asyncio.wait_for(app.engine.deliver(), 5)
        assert await pending(app) == 0
