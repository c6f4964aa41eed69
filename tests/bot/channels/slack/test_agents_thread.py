"""A handoff worked from the agents' channel: the card, the claim, the thread, the note,
the resolution, and the card following along."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.messages import Reply
from bot.storage.models import CaseEvent, MessageRecord
from tests.bot.channels.slack.conftest import AGENTS, Harness, running, texts
from tests.bot.channels.slack.fake_slack import FakeSlack, eventually
from tests.conftest import Clock, sent_statements


async def test_an_agent_works_a_case_in_its_thread(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    bob, carol = slack.agent("U_BOB"), slack.agent("U_CAROL")
    await anna.says("hi")
    (opened,) = await anna.says("I want to talk to a human about my order")
    assert opened.text.startswith("I've opened case #1 for you")

    card = bob.card(1)
    assert card.labels() == ["Claim", "Resolve"]
    shown = card.all_text()
    for fact in ("Anna", "Slack", "customer asked for a person", "not verified", "Open"):
        assert fact in shown

    assert await bob.taps(1, "Claim") == 200
    assert bob.card(1).labels() == ["Resolve"]
    assert "Claimed by Bob" in bob.card(1).all_text()
    assert bob.thread(1) == ["Case #1 claimed by Bob."]
    assert texts(anna.new()) == ["Bob from our support team has joined the conversation."]

    assert await carol.taps(1, "Resolve") == 200  # not hers to resolve
    assert carol.told() == ["Case #1 is claimed by Bob; only they can do that."]

    assert await anna.says("It's order A10001, the blue one") == []  # the bot stays silent
    assert bob.thread(1)[-1] == "*Anna* (Slack): It's order A10001, the blue one"

    # Slack sends "&", "<" and ">" as entities; the customer sees what Bob typed
    assert await bob.says(1, "Hi Anna, a label &amp; a box are on their way") == 200
    assert texts(anna.new()) == [
        "*Bob* (Acme support):\nHi Anna, a label &amp; a box are on their way"
    ]

    assert await bob.says(1, "/note VIP customer, be generous") == 200
    assert await bob.says(1, "!note label LBL-123") == 200
    assert anna.new() == []  # notes never reach the customer
    assert bob.told()[-2:] == ["Internal note added to case #1 (not shown to the customer)."] * 2

    assert await bob.taps(1, "Resolve") == 200
    assert bob.card(1).labels() == []
    assert "Resolved by Bob" in bob.card(1).all_text()
    assert bob.thread(1)[-1] == "Case #1 resolved by Bob."
    handed_back = anna.new()
    assert texts(handed_back)[:2] == [
        "Bob has marked your case #1 as resolved.",
        "Thank you for contacting Acme, Anna.",
    ]
    assert handed_back[-1].labels() == ["1", "2", "3", "4", "5", "Skip"]

    async with slack.app.repo.transaction() as tx:
        notes = await tx.session.execute(
            select(MessageRecord.text).where(MessageRecord.internal.is_(True))
        )
        events = await tx.session.execute(select(CaseEvent.kind).order_by(CaseEvent.id))
        assert notes.scalars().all() == ["VIP customer, be generous", "label LBL-123"]
        kinds = events.scalars().all()
    assert [k for k in kinds if k in {"claimed", "replied", "note", "resolved"}] == [
        "claimed", "replied", "note", "note", "resolved",
    ]  # fmt: skip


async def test_two_agents_claim_and_one_is_told_who_won(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    bob, carol = slack.agent("U_BOB"), slack.agent("U_CAROL")
    await anna.says("I want to talk to a human")
    card = bob.card(1)
    first = await slack.http.tap("U_BOB", card, "Claim")
    second = await slack.http.tap("U_CAROL", card, "Claim")  # her screen still shows Claim
    await slack.settled()
    assert (first, second) == (200, 200)
    assert carol.told() == ["Case #1 is already claimed by Bob."]
    assert texts(anna.new())[-1] == "Bob from our support team has joined the conversation."


async def test_a_reply_resolves_with_a_summary_and_files_are_not_passed_on(
    slack: Harness,
) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    bob = slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    anna.new()
    await bob.says(1, "", subtype="file_share", files=[{"id": "F9", "name": "label.pdf"}])
    assert bob.told() == [
        "Files are not passed on to the customer; describe it in words or share a link."
    ]
    assert anna.new() == []
    # a reply claims an unclaimed case; /resolve hands back with a summary
    await bob.says(1, "Your label: <https://acme.example/l/1|acme.example/l/1>")
    await bob.says(1, "/resolve Label sent")
    assert texts(anna.new())[:2] == [
        "*Bob* (Acme support):\nYour label: acme.example/l/1 (https://acme.example/l/1)",
        "Bob has marked your case #1 as resolved: Label sent.",
    ]
    assert "Resolved by Bob" in bob.card(1).all_text()
    top_level = [p for p in slack.fake.in_channel(AGENTS) if p.thread_ts is None]
    assert len(top_level) == 1  # one card per case, updated in place


async def test_other_notices_go_to_the_case_thread_and_alerts_to_the_channel(
    slack: Harness,
) -> None:
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    now = slack.app.engine.ctx.now()
    notices = [
        (1, Reply("Case #1: first response due 10:00 <!here>", extra={"kind": "sla_reminder"})),
        (1, Reply("SLA breached: case #1", extra={"kind": "supervisor_alert"})),
        (None, Reply("Nobody is available to take cases", extra={"kind": "supervisor_alert"})),
    ]
    async with slack.app.repo.transaction() as tx:
        for number, notice in notices:
            notice.extra["case"] = number
            await tx.add_desk_notice("slack", number, notice, now)
    await slack.app.engine.deliver()
    await slack.settled()

    thread = slack.fake.in_channel(AGENTS, thread_ts=bob.card(1).ts)
    assert [(p.text, p.broadcast) for p in thread] == [
        ("Case #1: first response due 10:00 &lt;!here&gt;", False),
        ("SLA breached: case #1", True),
    ]
    top_level = [p.text for p in slack.fake.in_channel(AGENTS) if p.thread_ts is None]
    assert top_level[-1] == "Nobody is available to take cases"


async def test_a_reply_to_a_card_whose_thread_is_not_stored_yet_reaches_the_customer(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    async with running(tmp_path, clock, fake, slack={"ack_budget_seconds": 0.2}) as slack:
        anna = slack.customer("U_ANNA", "D_ANNA")
        bob = slack.agent("U_BOB")
        await anna.says("hi")

        # Slack shows the card to the agents before it tells the bot the card's ts.
        answer = fake.hold_answers(AGENTS)
        assert await slack.http.event(anna.message("I want to talk to a human")) == 200
        await eventually(lambda: bool(fake.in_channel(AGENTS)), what="the card")

        # Bob is quicker: he answers in the card's thread while its ts is on its way.
        # Slack gets its 200 in time; the reply waits for the card's thread to be stored.
        assert await slack.http.event(bob.message(1, "Hi Anna, I'm on it")) == 200
        answer.set()
        await slack.service.budget.drain()
        await slack.settled()

        opened, relayed = texts(anna.new())
        assert opened.startswith("I've opened case #1 for you")
        assert relayed == "*Bob* (Acme support):\nHi Anna, I'm on it"
        assert bob.told() == []


async def test_a_notice_in_a_case_thread_reads_the_database_once(slack: Harness) -> None:
    """Before it posts, a desk notice needs the case, its conversation and its thread:
    read once, in one statement, however the notice updates the card and posts in the
    thread."""
    from bot.channels.slack.desk import DESK
    from tests.bot.storage.test_statement_budget import statements

    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    await bob.taps(1, "Claim")
    outbox = slack.service.app.engine.outbox
    desk = outbox.desk.senders["desk"]  # type: ignore[union-attr]
    notice = Reply("Case #1 is waiting on the customer.",
                   extra={"kind": "case_status", "case": 1, "status": "assigned"})  # fmt: skip
    with statements(slack.service.app.repo.engine) as seen:
        await desk.send(DESK, notice)
    looked_up = [n for statement, n in seen.items() if statement.startswith("SELECT cases")]
    assert looked_up == [1]  # (the pump's delivery passes run meanwhile: not counted)
    assert not any(s.startswith(("SELECT desk_threads", "SELECT conversations")) for s in seen)
    assert bob.thread(1)[-1].endswith("Case #1 is waiting on the customer.")


async def test_the_desk_remembers_case_threads_instead_of_reading_them(slack: Harness) -> None:
    """Once the card is up, the agent's replies and the customer's relayed words find the
    thread without reading ``desk_threads``: the desk's sender stored it and remembers it."""
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("hi")
    await anna.says("I want to talk to a human about my order")
    await bob.taps(1, "Claim")
    anna.new()
    with sent_statements(slack.app.repo.engine) as sent:
        assert await bob.says(1, "Which order is it?") == 200
        await anna.says("It's order A10001")
        assert await bob.says(1, "Thanks, a new one is on its way") == 200
        await slack.settled()
    assert "*Anna* (Slack): It's order A10001" in bob.thread(1)
    assert texts(anna.new())[-1] == "*Bob* (Acme support):\nThanks, a new one is on its way"
    assert sent and not [s for s in sent if "desk_threads" in s]


async def test_a_claim_and_a_resolution_update_the_card_without_reading_the_case(
    slack: Harness,
) -> None:
    """The card the desk posted is remembered; a claim's or a resolution's notice carries
    the case's new status and agent, so re-rendering the card reads nothing."""
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human about my order")
    assert bob.card(1).labels() == ["Claim", "Resolve"]
    with sent_statements(slack.app.repo.engine) as sent:
        assert await bob.taps(1, "Claim") == 200
        await slack.settled()
        assert "Claimed by Bob" in bob.card(1).all_text()
        assert await bob.taps(1, "Resolve") == 200
        await slack.settled()
    card = bob.card(1)
    assert card.labels() == [] and "Resolved by Bob" in card.all_text()
    assert "Anna" in card.all_text()  # still the whole card, not only its status
    assert bob.thread(1)[-2:] == ["Case #1 claimed by Bob.", "Case #1 resolved by Bob."]
    card_reads = [s for s in sent if s.startswith("SELECT cases") and "desk_threads" in s]
    assert sent and card_reads == []  # (the claim and the resolution lock the case: no join)


async def test_a_new_cases_card_is_posted_without_reading_and_stored_with_its_mark(
    slack: Harness,
) -> None:
    """The case's first notice carries the card and the customer's channel: posting it
    reads neither the case nor ``desk_threads``, and its thread is stored with the
    notice's "sent" mark instead of a transaction of its own."""
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("hi")
    with sent_statements(slack.app.repo.engine) as sent:
        await anna.says("I want to talk to a human about my order")
        await slack.settled()
    card = bob.card(1)
    assert card.labels() == ["Claim", "Resolve"] and "Anna" in card.all_text()
    assert not [s for s in sent if s.startswith("SELECT") and "desk_threads" in s]
    stored = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO desk_threads")]
    assert len(stored) == 1
    assert "UPDATE outbox SET" in sent[stored[0] - 1]  # the card's notice marked sent, with it
    assert await bob.says(1, "Which order is it?") == 200  # the thread is the case's
    assert texts(anna.new())[-1].endswith("Which order is it?")
