"""Asking for a person while the bot verifies identity: the request wins, as the SOPs say
an explicit request for a human escalates, whatever the bot was asking for."""

from __future__ import annotations

from bot.storage.models import Case
from tests.conftest import Chat, joined


async def opened_case(chat: Chat, number: int = 1) -> Case:
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(number)
    assert case is not None, f"no case #{number}"
    return case


async def test_asked_for_the_email_the_customer_asks_for_a_person(chat: Chat) -> None:
    await chat.say("hi")
    replies = await chat.say("I need to change my account password")
    assert "What is the email address on your account?" in replies[0].text

    replies = await chat.say("I want to talk to a person")
    assert len(replies) == 1
    assert replies[0].text.startswith("I've opened case #1 for you")
    assert "you asked for a person" in replies[0].text
    assert "doesn't look like an email" not in joined(replies)

    desk = await chat.desk()
    assert any("#1" in notice for notice in desk)  # the agents hear of it
    case = await opened_case(chat)
    assert (case.reason, case.status) == ("requested", "open")
    assert case.summary == "I need to change my account password"  # documented first
    assert case.details["verified"] is False  # the team knows to verify them

    assert await chat.say("it's anna@example.com") == []  # relayed now, not checked
    assert any("anna@example.com" in notice for notice in await chat.desk())


async def test_asked_for_the_order_number_the_customer_asks_for_someone(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I was charged twice for my order")
    await chat.say("anna@example.com")
    assert "order number" in chat.texts()[0]

    replies = await chat.say("Can I speak with someone, please?")
    assert "I've opened case #1 for you" in joined(replies)
    case = await opened_case(chat)
    assert case.reason == "requested"
    assert case.details["email"] == "anna@example.com"


async def test_a_data_request_keeps_its_own_case_when_the_customer_asks_for_a_person(
    chat: Chat,
) -> None:
    await chat.say("hi")
    replies = await chat.say("Please delete my data")
    assert "verify your identity" in replies[0].text

    replies = await chat.say("I'd rather talk to a real person")
    assert "I've opened case #1 for you" in joined(replies)
    case = await opened_case(chat)
    assert case.reason == "privacy_request"  # the data-protection team, with its deadline
    assert case.details["privacy"]["request"] == "erasure"
