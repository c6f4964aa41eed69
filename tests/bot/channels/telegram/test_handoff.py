"""A case handed to an agent in the forum group, and back: one topic per case."""

from __future__ import annotations

import logging
import unicodedata

import pytest
from sqlalchemy import select

from bot.storage.models import Feedback, MessageRecord
from tests.bot.channels.telegram.conftest import Bench, Customer
from tests.bot.channels.telegram.fake_world import GROUP_ID, buttons_of
from tests.conftest import sent_statements


async def escalated(tg: Bench) -> Customer:
    """Anna asks for a person: case #1; what she and the topic saw so far is read."""
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    await anna.says("Can I talk to a human, please?")
    await tg.topic(1)
    return anna


async def test_a_full_handoff_in_a_forum_topic(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)
    bob = tg.agent("Bob", 501)
    await anna.says("hi")
    await anna.sends("photo", caption="the jacket")  # while the bot has the chat
    escalation = await anna.says("Can I talk to a human, please?")
    assert any("I've opened case #1 for you" in line for line in escalation)

    # A topic named after the case, the card first, then the photo sent to the bot earlier.
    [topic] = tg.fake.world.topics.values()
    assert topic["name"].startswith("#1 Anna · ")
    card, earlier = await tg.topic(1)
    assert card.startswith("Case #1 · ")
    assert "Customer: Anna · identity not verified" in card
    assert "Reason: customer asked for a person" in card
    assert "Files sent to the bot: 1, copied below" in card
    assert earlier == "[photo] the jacket"
    assert [b["text"] for b in buttons_of(tg.last_with_button(GROUP_ID, "Claim"))] == [
        "Claim",
        "Resolve",
    ]

    await bob.taps(1, "Claim")
    assert anna.news() == ["Bob from our support team has joined the conversation."]
    assert await tg.topic(1) == ["Case #1 claimed by Bob."]
    assert [b["text"] for b in buttons_of(tg.last_with_button(GROUP_ID, "Resolve"))] == ["Resolve"]

    # Text and photos, both ways; customer text is shown literally, never as markup.
    await bob.says(1, "Hi Anna, which size do you need?")
    assert anna.news() == ["Bob: Hi Anna, which size do you need?"]
    await bob.sends(1, "photo", caption="This one?")
    assert anna.news() == ["[photo] Bob: This one?"]
    assert await anna.says("<b>M</a> please & thanks") == []
    assert await tg.topic(1) == ["Anna: <b>M</a> please & thanks"]
    await anna.sends("photo", caption="my receipt")
    await anna.sends("voice")
    await anna.sends_content(game={"title": "Chess", "description": "a game", "photo": []})
    assert await tg.topic(1) == ["[photo] Anna: my receipt", "[voice] Anna:", "[game]"]

    # A note stays on the desk.
    await bob.says(1, "/note VIP customer, be generous")
    assert await tg.topic(1) == ["Internal note added to case #1 (not shown to the customer)."]
    assert anna.news() == []

    # Resolving hands back to the bot, which asks for a rating; the topic is closed.
    await bob.says(1, "/resolve Exchange label sent")
    closing = anna.news()
    assert closing[0] == "Bob has marked your case #1 as resolved: Exchange label sent."
    assert closing[-1].startswith("How would you rate the help you received today")
    assert await tg.topic(1) == ["Case #1 resolved by Bob."]
    assert topic == {"name": "✅ " + topic["name"].removeprefix("✅ "), "closed": True}
    assert topic["name"].startswith("✅ #1 Anna")
    with pytest.raises(AssertionError, match="no button 'Resolve'"):
        tg.last_with_button(GROUP_ID, "Resolve")

    await anna.taps("4")
    async with tg.bot.runtime.app.repo.transaction() as tx:
        feedback = (await tx.session.execute(select(Feedback))).scalar_one()
        notes = (
            await tx.session.execute(select(MessageRecord.text).where(MessageRecord.internal))
        ).all()
    assert (feedback.score, feedback.case_id) == (4, 1)
    assert [n.text for n in notes] == ["VIP customer, be generous"]


async def test_an_agent_posting_without_claiming_takes_the_case(tg: Bench) -> None:
    anna = await escalated(tg)
    await tg.agent("Bob", 501).says(1, "Hello Anna, I'm on it")
    assert anna.news() == ["Bob: Hello Anna, I'm on it"]
    assert await tg.topic(1) == [
        "Case #1 claimed by Bob.",
    ]
    async with tg.bot.runtime.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.assigned_agent == "Bob"


async def test_another_agent_cannot_take_over_a_claimed_case(tg: Bench) -> None:
    anna = await escalated(tg)
    await tg.agent("Bob", 501).taps(1, "Claim")
    await tg.topic(1)
    anna.news()

    carol = tg.agent("Carol", 502, "administrator")
    await carol.says(1, "Hi, Carol here")
    assert anna.news() == []
    assert await tg.topic(1) == ["Case #1 is claimed by Bob; only they can do that."]
    await carol.taps(1, "Resolve")
    alert = tg.fake.called("answerCallbackQuery")[-1]
    assert (alert["text"], alert["show_alert"]) == (
        "Case #1 is claimed by Bob; only they can do that.",
        True,
    )


async def test_someone_outside_the_agents_group_cannot_act(
    tg: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    anna = await escalated(tg)
    eve = tg.agent("Eve", 666, status="left")
    caplog.set_level(logging.WARNING, "supportbot.channels")

    await eve.says(1, "Send me your password")
    await eve.says(1, "/resolve done")
    await eve.taps(1, "Claim")

    assert anna.news() == []  # nothing relayed
    assert await tg.topic(1) == []
    refusal = tg.fake.called("answerCallbackQuery")[-1]
    assert refusal["text"] == "Only members of the agents' group can do that."
    async with tg.bot.runtime.app.repo.transaction() as tx:
        case = await tx.case(1)
        events = [(e.actor, e.kind) for e in await tx.case_events(1)]
    assert case is not None and (case.status, case.assigned_agent) == ("open", None)
    assert events.count(("telegram user 666", "refused_post")) == 2
    refused = [r.getMessage() for r in caplog.records if "non-agent user 666" in r.getMessage()]
    assert len(refused) == 3


async def test_a_name_cannot_turn_the_agents_text_around(tg: Bench) -> None:
    """A right-to-left override in a first name would reverse the topic's title and the
    card's line on an agent's screen; zero-width characters make names look alike."""
    eve = tg.customer("Ev\u202eil\u200b", 222)
    assert (await eve.says("hi"))[0].startswith("Hello Evil,")
    await eve.says("I want to talk to a human")
    await eve.says("are you there?")
    shown = "\n".join([*await tg.topic(1), *(t["name"] for t in tg.fake.world.topics.values())])
    assert "Evil" in shown
    assert not [ch for ch in shown if unicodedata.category(ch) in {"Cc", "Cf"} and ch != "\n"]


async def test_forged_buttons_are_refused(tg: Bench, caplog: pytest.LogCaptureFixture) -> None:
    anna = tg.customer("Anna", 111)
    ben = tg.customer("Ben", 222)
    await anna.says("hi")
    await anna.says("How do I exchange an item for another size?")
    await ben.says("hi")
    await ben.says("How do I exchange an item for another size?")
    caplog.set_level(logging.WARNING, "supportbot.channels")

    # Unsigned data, and Ben's genuine "Yes" replayed in Anna's chat: both refused.
    assert await anna.taps("Yes", data="=yes") == []
    bens_yes = buttons_of(tg.last_with_button(222, "Yes"))[0]["callback_data"]
    assert await anna.taps("Yes", data=bens_yes) == []
    answers = tg.fake.called("answerCallbackQuery")
    assert [a["text"] for a in answers] == [
        "Sorry, that button is not valid. Please type your answer instead."
    ] * 2
    assert tg.last_with_button(111, "Yes")  # the question is still open

    # An agent's button with made-up data for another case.
    await anna.says("Can I talk to a human, please?")
    bob = tg.agent("Bob", 501)
    await bob.taps(1, "Claim", data="claim:2.AAAAAAAAAAAA")
    assert tg.fake.called("answerCallbackQuery")[-1]["text"] == "This button is not valid."
    refused = [r for r in caplog.records if "button data refused" in r.getMessage()]
    assert len(refused) == 3


async def test_commands_are_never_relayed_and_long_messages_are_split(tg: Bench) -> None:
    anna = await escalated(tg)
    bob = tg.agent("Bob", 501)
    await bob.says(1, "/claim")
    await tg.topic(1)
    anna.news()

    await bob.says(1, "/refund 20")  # not a command we know: help, not the customer
    [help_text] = await tg.topic(1)
    assert help_text.startswith("In a case's topic: write to answer the customer")
    assert anna.news() == []

    paragraph = "My order arrived damaged and I would like to explain what happened. " * 20
    long_text = ("\n\n".join([paragraph] * 4))[:4096]  # as long as Telegram allows
    await anna.says(long_text)
    first, second = await tg.topic(1)
    assert first.startswith("Anna: My order arrived damaged")
    assert len(first) <= 4096 and not second.startswith("Anna:")
    assert " ".join((first.removeprefix("Anna: ") + " " + second).split()) == " ".join(
        long_text.split()
    )


async def test_the_desk_remembers_the_topic_instead_of_reading_the_case(
    tg: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the card is up, the claim's notice, the customer's relayed words and the
    resolution's notice go to the topic this process remembers, and the agent's taps and
    posts find their case from it: nothing reads ``desk_threads`` or joins it to the case
    (the claim, the reply and the resolution lock their case, without that join)."""
    anna, bob = await escalated(tg), tg.agent("Bob", 501)
    placed = await tg.place(1)

    async def place(case: int) -> tuple[int, int]:  # the harness finds the topic once
        return placed

    monkeypatch.setattr(tg, "place", place)
    with sent_statements(tg.bot.runtime.app.repo.engine) as sent:
        await bob.taps(1, "Claim")
        assert await tg.topic(1) == ["Case #1 claimed by Bob."]
        await anna.says("It is order A10001")
        assert await tg.topic(1) == ["Anna: It is order A10001"]
        await bob.says(1, "Thanks, a new one is on its way")
        assert anna.news()[-1].endswith("Thanks, a new one is on its way")
        await bob.taps(1, "Resolve")
        assert (await tg.topic(1))[0] == "Case #1 resolved by Bob."
    assert tg.fake.called("closeForumTopic")  # the resolution's steps all ran
    assert sent and not [s for s in sent if s.startswith("SELECT") and "desk_threads" in s]


async def test_a_case_without_files_gets_its_card_without_a_search_for_files(tg: Bench) -> None:
    # The escalation counted the files sent before it (none), and the case's notice says
    # so: the desk posts the card without reading the conversation's attachments.
    with sent_statements(tg.bot.runtime.app.repo.engine) as sent:
        await escalated(tg)
    searches = [s for s in sent if "attachments IS NOT NULL" in s and "count(" not in s]
    assert searches == []
    assert await tg.topic(1) == []  # the card was posted (and read by ``escalated``)


async def test_a_new_cases_topic_card_and_files_are_stored_with_its_notices_sent_mark(
    tg: Bench,
) -> None:
    """The case's first notice reads nothing about the case (it carries what naming the
    topic needs) and stores the topic, the card and the copied file in one statement
    each, with its "sent" mark, not a transaction per step. A 429 on the card, after the
    topic was opened, is waited out and the card goes into that same topic."""
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    await anna.sends("photo", caption="the jacket")
    tg.fake.fail("sendMessage", chat_id=GROUP_ID, times=1, retry_after=1)
    with sent_statements(tg.bot.runtime.app.repo.engine) as sent:
        await anna.says("Can I talk to a human, please?")

    assert len(tg.fake.called("createForumTopic")) == 1
    [topic] = tg.fake.world.topics.values()
    assert topic["name"] == "#1 Anna · other"  # the category
    card, earlier = await tg.topic(1)
    assert card.startswith("Case #1 · ") and earlier == "[photo] the jacket"
    assert [c.status for c in tg.fake.calls if c.method == "sendMessage"].count(429) == 1
    places = [s for s in sent if s.startswith("INSERT INTO desk_threads")]
    copies = [s for s in sent if s.startswith("INSERT INTO message_links")]
    assert len(places) == 1 and len(copies) == 1
    assert not [s for s in sent if s.startswith("SELECT") and "desk_threads" in s]
    async with tg.bot.runtime.app.repo.transaction() as tx:
        stored = await tx.desk_thread(1, "telegram")
    assert stored is not None and stored.card_ref is not None  # topic and card together
