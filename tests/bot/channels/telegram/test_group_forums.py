"""Routing groups with forum groups of their own: a legal case opens its topic in the
legal team's forum, a billing case in the agents' forum, each worked by that forum's
members only; an unclaimed case re-offered to the next group moves to that group's
forum, and its old topic is closed with a pointer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.telegram.settings import TelegramSettings
from bot.settings import GroupSettings, RoutingSettings
from tests.bot.channels.telegram.conftest import Bench, BotProcess
from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP_ID, buttons_of
from tests.conftest import Clock, make_settings

LEGAL_ID = -1009876543210
ROUTING = RoutingSettings(
    groups=[
        GroupSettings(name="legal", reasons=["legal"], desk_target=str(LEGAL_ID)),
        GroupSettings(name="billing", categories=["billing"]),  # the agents' own forum
        GroupSettings(name="general"),
    ]
)
NOT_AN_AGENT = "Only members of the agents' group can do that."


@pytest.fixture
async def tg(
    fake: FakeTelegram, tmp_path: Path, telegram_settings: TelegramSettings, clock: Clock
) -> AsyncIterator[Bench]:
    fake.world.add_forum(LEGAL_ID, "Acme legal")
    settings = make_settings(tmp_path, desk="telegram", routing=ROUTING)
    bot = BotProcess(fake, settings, telegram_settings, now=clock)
    await bot.start()
    try:
        yield Bench(fake, bot)
    finally:
        await bot.stop()


def topic_names(tg: Bench, chat: int) -> list[str]:
    return [t["name"] for t in tg.fake.world.forum_topics[chat].values()]


async def test_each_group_works_its_cases_in_its_own_forum(tg: Bench) -> None:
    anna, omar = tg.customer("Anna", 111), tg.customer("Omar", 222)
    lena, bob = tg.agent("Lena", 601, chat=LEGAL_ID), tg.agent("Bob", 501)
    bob_in_legal = tg.agent("Bob", 501, status="", chat=LEGAL_ID)  # not a member there

    await anna.says("My lawyer will be in touch about this order")
    await omar.says("I was charged twice for my order, I want to talk to a human")

    assert topic_names(tg, LEGAL_ID) == ["#1 Anna · legal"]
    assert topic_names(tg, GROUP_ID) == ["#2 Omar · billing"]
    [legal_card] = await tg.topic(1)
    assert "Reason: legal or regulatory matter · group legal" in legal_card
    assert (await tg.topic(2))[0].startswith("Case #2 · ")

    # Bob is not in the legal forum: his tap and his post there are refused.
    await bob_in_legal.taps(1, "Claim")
    assert tg.fake.called("answerCallbackQuery")[-1]["text"] == NOT_AN_AGENT
    await bob_in_legal.says(1, "Hi Anna, Bob here")
    assert anna.news() == []  # nothing from Bob reached her
    assert await tg.topic(1) == []

    await lena.taps(1, "Claim")
    await lena.says(1, "Hello Anna, Lena from our legal team here")
    assert anna.news() == [
        "Lena from our support team has joined the conversation.",
        "Lena: Hello Anna, Lena from our legal team here",
    ]
    assert await tg.topic(1) == ["Case #1 claimed by Lena."]
    await bob.taps(2, "Claim")
    assert omar.news()[-1] == "Bob from our support team has joined the conversation."
    await omar.says("It was order A10002")
    assert await tg.topic(2) == ["Case #2 claimed by Bob.", "Omar: It was order A10002"]
    assert await tg.topic(1) == []


async def test_an_unclaimed_case_moves_to_the_next_groups_forum(tg: Bench, clock: Clock) -> None:
    anna = tg.customer("Anna", 111)
    lena, bob = tg.agent("Lena", 601, chat=LEGAL_ID), tg.agent("Bob", 501)
    await anna.says("My lawyer will be in touch about this order")
    await tg.topic(1)
    legal_thread = await tg.thread(1)

    clock.advance(minutes=31)  # nobody in legal claimed it: offered to billing
    await tg.bot.runtime.app.engine.fire_due_timers()
    await tg.bot.settle()

    assert (await tg.place(1))[0] == GROUP_ID
    assert topic_names(tg, GROUP_ID) == ["#1 Anna · legal"]
    card, routed = await tg.topic(1)
    assert card.startswith("Case #1 · ") and "group billing" in card
    assert routed == "Case #1 was not claimed in legal; offered to billing."
    assert [b["text"] for b in buttons_of(tg.last_with_button(GROUP_ID, "Claim"))] == [
        "Claim",
        "Resolve",
    ]
    assert await tg.topic(1, chat=LEGAL_ID) == [
        "Case #1 now belongs to the billing group: it continues in their topic."
    ]
    assert tg.fake.world.forum_topics[LEGAL_ID][legal_thread]["closed"] is True
    with pytest.raises(AssertionError, match="no button 'Claim'"):
        tg.last_with_button(LEGAL_ID, "Claim")  # the old card lost its buttons

    await bob.taps(1, "Claim")
    assert anna.news()[-1] == "Bob from our support team has joined the conversation."
    await anna.says("Hello? Who is looking at this?")
    assert await tg.topic(1) == ["Case #1 claimed by Bob.", "Anna: Hello? Who is looking at this?"]
    assert await tg.topic(1, chat=LEGAL_ID) == []

    await lena.says(1, "I'll take it after all")  # the old topic is no case's any more
    assert anna.news() == []
