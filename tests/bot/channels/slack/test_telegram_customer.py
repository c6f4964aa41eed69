"""The Slack desk serving a customer on Telegram: the desk is a setting, the customer's
channel is whatever the customer uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.messages import Message
from tests.bot.channels.slack.conftest import Harness, running
from tests.bot.channels.slack.fake_slack import FakeSlack, eventually
from tests.conftest import Clock, Recorder

TRAP = "<!channel> <@U123> <https://evil.example|bank.com> & co"


@pytest.fixture
def telegram() -> Recorder:
    return Recorder()


@pytest.fixture
async def desk(
    tmp_path: Path, clock: Clock, fake: FakeSlack, telegram: Recorder
) -> AsyncIterator[Harness]:
    async with running(tmp_path, clock, fake, senders={"telegram": telegram}) as harness:
        yield harness


async def test_a_telegram_customer_is_helped_from_the_slack_desk(
    desk: Harness, telegram: Recorder
) -> None:
    bob = desk.agent("U_BOB")
    engine = desk.app.engine
    tom = [Message("telegram", "tg-42", "tg-7", text, message_id=str(i), user_name="Tom")
           for i, text in enumerate(["hi", "I want to talk to a human", TRAP])]  # fmt: skip
    for message in tom:
        await engine.handle_message(message)
    await desk.settled()

    card = bob.card(1).all_text()
    assert "Telegram" in card and "Tom" in card
    # the customer's text is shown, not executed: no ping, no mention, no disguised link
    assert bob.thread(1) == [
        "*Tom* (Telegram): &lt;!channel&gt; &lt;@U123&gt; "
        "&lt;https://evil.example|bank.com&gt; &amp; co"
    ]

    await bob.taps(1, "Claim")
    await bob.says(1, "Hi Tom, use <https://acme.example/l/1|this label> &amp; tape")
    await bob.says(1, "/note Telegram customer, label sent")
    await bob.taps(1, "Resolve")
    await eventually(lambda: len(telegram.sent) >= 6, what="Tom's replies")

    to_tom = [(address, r.sender, r.author, r.text) for address, r in telegram.sent[2:6]]
    assert to_tom == [
        ("tg-42", "bot", None, "Bob from our support team has joined the conversation."),
        ("tg-42", "agent", "Bob", "Hi Tom, use this label (https://acme.example/l/1) & tape"),
        ("tg-42", "bot", None, "Bob has marked your case #1 as resolved."),
        ("tg-42", "bot", None, "Thank you for contacting Acme, Tom."),
    ]
    assert all("label sent" not in r.text for _, r in telegram.sent)  # the note stayed here
    assert "Resolved by Bob" in bob.card(1).all_text()
    assert desk.fake.in_channel("tg-42") == []  # nothing for Telegram went to Slack
