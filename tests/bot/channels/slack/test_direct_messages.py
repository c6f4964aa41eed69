"""Customers in direct messages: the whole SOP conversation, with Block Kit buttons."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.models import Conversation, Feedback, MessageRecord
from tests.bot.channels.slack.conftest import Harness, texts


async def test_a_customer_gets_an_answer_and_rates_us_with_buttons(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")

    assert texts(await anna.says("hi")) == [
        "Hello Anna, thank you for contacting Acme Customer Support. My name is Sam. "
        "How can I assist you today?"
    ]  # her name comes from users.info

    (answer,) = await anna.says("How do I exchange an item?")
    assert "Exchanges are free within 30 days" in answer.all_text()
    assert answer.text.endswith("Did this solve your issue?")
    assert "1. Open *Orders*, choose the order" in answer.text  # Markdown bold, Slack style
    assert answer.labels() == ["Yes", "No"]

    thanks = await anna.taps("Yes")
    assert texts(thanks) == [
        "I'm glad that helped! To sum up: How to exchange an item.",
        "Thank you for contacting Acme, Anna.",
        "How would you rate the help you received today, from 1 (poor) to 5 (excellent)?",
    ]
    assert thanks[-1].labels() == ["1", "2", "3", "4", "5", "Skip"]

    (comment,) = await anna.taps("5")
    assert comment.labels() == ["No, thanks"]
    assert texts(await anna.taps("No, thanks")) == [
        "Thank you for your feedback, Anna. Have a great day!"
    ]

    # the same set of buttons answers once: a second tap on the rating does nothing
    assert await anna.taps("2") == []

    async with slack.app.repo.transaction() as tx:
        scores = (await tx.session.execute(select(Feedback.score))).scalars().all()
        state = (await tx.session.execute(select(Conversation.state))).scalar_one()
    assert (scores, state) == ([5], "closed")


async def test_files_edits_and_huge_text_get_a_clear_answer_or_are_ignored(
    slack: Harness,
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    await anna.says("hi")
    files = [{"id": "F1", "name": "receipt.pdf", "mimetype": "application/pdf"}]
    assert texts(await anna.says("", subtype="file_share", files=files)) == [
        "I can read text only, so I've kept your file with your conversation: if a member "
        "of our team takes over, they will see it."
    ]
    edit = anna.message("", subtype="message_changed", message={"text": "edited"})
    deleted = anna.message("", subtype="message_deleted")
    reaction = {"type": "reaction_added", "user": "U_ANNA", "reaction": "+1"}
    broken = {"type": "message", "channel": "D_ANNA", "channel_type": "im"}  # no user, no ts
    elsewhere = {**anna.message("hello"), "channel": "C0OTHER", "channel_type": "channel"}
    for event in (edit, deleted, reaction, broken, elsewhere):
        assert await slack.http.event(event) == 200
    await slack.settled()
    assert anna.new() == []

    long = await anna.says("Where is my parcel? " * 1500)  # 30,000 characters
    assert texts(long)[0] == "Your message was very long, so I kept the first 20000 characters."

    async with slack.app.repo.transaction() as tx:
        stored = await tx.session.execute(
            select(MessageRecord.attachments).where(MessageRecord.attachments.is_not(None))
        )
        kept = stored.scalars().all()
        inbound = await tx.session.scalar(
            select(func.count()).where(MessageRecord.direction == "in")
        )
    assert kept == [[{"kind": "document", "ref": "F1", "name": "receipt.pdf"}]]
    assert inbound == 3  # hi, the file, the long one: nothing from the ignored events


async def test_web_api_calls_reuse_their_connections(slack: Harness) -> None:
    """One HTTP session for the Web API: a connection (a TLS handshake with the real
    Slack) is not opened and thrown away for every call."""
    anna = slack.customer("U_ANNA", "D_ANNA")
    await anna.says("hi")
    await anna.says("How do I exchange an item?")
    await anna.taps("Yes")
    assert len(slack.fake.calls) >= 5
    assert len(slack.fake.connections) < len(slack.fake.calls) / 2  # a few, kept open
