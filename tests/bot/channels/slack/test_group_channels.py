"""Routing groups with channels of their own: a legal case is worked in the legal
channel, a billing case in the billing channel, each by that channel's members only; an
unclaimed case re-offered to the next group moves to that group's channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.slack.agents import NOT_AN_AGENT
from bot.settings import GroupSettings, RoutingSettings
from tests.bot.channels.slack.conftest import AGENTS, Harness, running, texts
from tests.bot.channels.slack.fake_slack import FakeSlack
from tests.conftest import Clock

LEGAL, BILLING = "C0LEGAL", "C0BILLING"
ROUTING = RoutingSettings(
    groups=[
        GroupSettings(name="legal", categories=["legal"], reasons=["legal"], desk_target=LEGAL),
        GroupSettings(name="billing", categories=["billing"], desk_target=BILLING),
        GroupSettings(name="general"),
    ]
)


@pytest.fixture
async def slack(tmp_path: Path, clock: Clock, fake: FakeSlack) -> AsyncIterator[Harness]:
    fake.users |= {"U_LENA": "Lena", "U_OMAR": "Omar"}
    fake.channel_members |= {LEGAL: {"UBOT", "U_LENA"}, BILLING: {"UBOT", "U_BOB"}}
    async with running(tmp_path, clock, fake, settings={"routing": ROUTING}) as harness:
        yield harness


async def test_each_group_works_its_cases_in_its_own_channel(slack: Harness) -> None:
    anna, omar = slack.customer("U_ANNA", "D_ANNA"), slack.customer("U_OMAR", "D_OMAR")
    lena, bob = slack.agent("U_LENA", LEGAL), slack.agent("U_BOB", BILLING)
    bob_in_legal = slack.agent("U_BOB", LEGAL)

    await anna.says("My lawyer will be in touch about this order")
    await omar.says("I was charged twice for my order, I want to talk to a human")

    assert lena.card(1).labels() == ["Claim", "Resolve"]
    assert "legal or regulatory matter" in lena.card(1).all_text()
    assert bob.card(2).labels() == ["Claim", "Resolve"]
    assert "billing" in bob.card(2).all_text()
    assert slack.fake.in_channel(AGENTS) == []  # neither case went to the agents' channel

    # Bob is not in the legal channel: his tap and his words there are refused.
    assert await bob_in_legal.taps(1, "Claim") == 200
    await bob_in_legal.says(1, "Hi Anna, Bob here")
    assert bob.told() == [NOT_AN_AGENT, NOT_AN_AGENT]
    assert lena.card(1).labels() == ["Claim", "Resolve"]

    await lena.taps(1, "Claim")
    await lena.says(1, "Hello Anna, Lena from our legal team here")
    assert texts(anna.new())[-2:] == [
        "Lena from our support team has joined the conversation.",
        "*Lena* (Acme support):\nHello Anna, Lena from our legal team here",
    ]
    await bob.taps(2, "Claim")
    assert texts(omar.new())[-1] == "Bob from our support team has joined the conversation."
    await omar.says("Thanks, it was order A10002")
    assert bob.thread(2)[-1] == "*Omar* (Slack): Thanks, it was order A10002"
    assert all("A10002" not in line for line in lena.thread(1))


async def test_an_unclaimed_case_moves_to_the_next_groups_channel(
    slack: Harness, clock: Clock
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    lena, bob = slack.agent("U_LENA", LEGAL), slack.agent("U_BOB", BILLING)
    await anna.says("My lawyer will be in touch about this order")
    left_behind = lena.card(1)
    anna.new()

    clock.advance(minutes=31)  # nobody in legal claimed it: offered to billing
    await slack.app.engine.fire_due_timers()
    await slack.settled()

    assert bob.card(1).labels() == ["Claim", "Resolve"]
    assert bob.thread(1) == ["Case #1 was not claimed in legal; offered to billing."]
    old = slack.fake.card(LEGAL, 1)
    assert old.ts == left_behind.ts and old.labels() == []
    assert f"Moved to <#{BILLING}>" in old.all_text()
    assert lena.thread(1) == [
        f"Case #1 now belongs to the billing group: it continues in <#{BILLING}>. "
        "Nothing more is relayed here."
    ]

    await bob.taps(1, "Claim")
    assert texts(anna.new()) == ["Bob from our support team has joined the conversation."]
    await anna.says("Hello? Who is looking at this?")
    assert bob.thread(1)[-1] == "*Anna* (Slack): Hello? Who is looking at this?"
    assert len(lena.thread(1)) == 1  # nothing more is relayed to the old thread

    await lena.says(1, "I'll take it after all")  # her old thread is no case's any more
    assert anna.new() == []
