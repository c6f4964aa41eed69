"""Slack's limits: about one message a second per channel, 429 Retry-After honoured,
nothing dropped, order kept, long text split to fit."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack.customers import CustomerSender
from bot.channels.slack.limits import MESSAGE_LIMIT, Pacer
from bot.channels.slack.web import SlackOut
from bot.messages import Button, Reply
from tests.bot.channels.slack.conftest import AGENTS, TOKEN, Harness, texts
from tests.bot.channels.slack.fake_slack import FakeSlack
from tests.services import CountingRate


async def test_a_429_storm_delays_but_never_loses_or_reorders(slack: Harness) -> None:
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    await bob.taps(1, "Claim")
    anna.new()

    slack.fake.throttle(writes=6, retry_after=1)  # both channels get 429s for a while
    words = [f"customer message {n}" for n in range(1, 6)]
    replies = [f"agent reply {n}" for n in range(1, 4)]
    for text in words:
        assert await slack.http.event(anna.message(text)) == 200
    card = bob.card(1)
    for text in replies:
        reply = {"type": "message", "channel": AGENTS, "user": "U_BOB", "text": text,
                 "ts": slack.ts(), "thread_ts": card.ts}  # fmt: skip
        assert await slack.http.event(reply) == 200
    await slack.settled()

    assert slack.fake.throttled >= 6
    assert slack.fake.early == []  # nobody came back before Retry-After had passed
    assert slack.fake.too_fast == []  # and never faster than the pace per channel
    assert bob.thread(1)[1:] == [f"*Anna* (Slack): {text}" for text in words]
    assert texts(anna.new()) == [f"*Bob* (Acme support):\n{text}" for text in replies]


async def test_long_text_is_split_within_slacks_limits(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=fake.url)
    sender = CustomerSender(SlackOut(client, Pacer(0.0)), "Acme support")

    question = "word " * 1300 + "Did this solve your issue?"  # 6,526 characters
    await sender.send("D1", Reply(question, (Button("Yes", "yes"), Button("No", "no"))))
    sections = fake.in_channel("D1")
    assert len(sections) == 3
    assert [p.blocks for p in sections[:2]] == [[], []]
    assert sections[-1].labels() == ["Yes", "No"]
    section_text = sections[-1].blocks[0]["text"]["text"]
    assert len(section_text) < 3000 and section_text.endswith("Did this solve your issue?")
    assert " ".join(p.text for p in sections).split() == question.split()

    fake.throttle(writes=1, after=1)  # a 429 between the parts: waited out, nothing twice
    ampersands = "&" * 20_000  # 100,000 characters once escaped
    await sender.send("D2", Reply(ampersands, sender="agent", author="Bob"))
    parts = fake.in_channel("D2")
    assert all(len(p.text) < 40_000 for p in parts) and len(parts) == 3
    assert parts[0].text.startswith("*Bob* (Acme support):\n&amp;")
    assert sum(p.text.count("&amp;") for p in parts) == 20_000  # no entity cut in half
    assert all(len(p.text) <= MESSAGE_LIMIT for p in parts)
    assert fake.throttled == 1 and fake.early == []


async def test_the_pacer_spaces_writes_per_channel_and_holds_after_a_429() -> None:
    now = [100.0]
    slept: list[tuple[str, float]] = []

    async def sleep(seconds: float) -> None:
        slept.append((current, round(seconds, 3)))

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    for current in ("C1", "C1", "C2", "C1"):  # read by sleep()
        await pacer.wait(current)
    assert slept == [("C1", 1.0), ("C1", 2.0)]  # C2 did not wait for C1

    slept.clear()
    now[0] += 10
    pacer.hold("C2", 30)
    current = "C2"
    await pacer.wait("C2")
    assert slept == [("C2", 30.0)]


async def test_concurrent_writers_to_one_channel_get_consecutive_slots() -> None:
    pacer = Pacer(0.05)
    order: list[int] = []

    async def write(n: int) -> None:
        await pacer.wait("C1")
        order.append(n)

    await asyncio.gather(*(write(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]


async def test_no_pacing_asks_the_deployments_shared_budget_for_nothing() -> None:
    """``SLACK_SECONDS_PER_MESSAGE=0`` beside a shared limiter (Redis, or PostgreSQL with
    several workers): there is no rate to book, so every write goes at once."""
    shared = CountingRate(wait=5.0)
    pacer = Pacer(0.0, shared=shared)
    await asyncio.wait_for(asyncio.gather(*(pacer.wait("C1") for _ in range(3))), 1)
    assert shared.booked == []
    pacer = Pacer(1.0, shared=shared, sleep=lambda seconds: asyncio.sleep(0))
    await pacer.wait("C1")
    assert shared.booked == ["slack:channel:C1"]
