"""Supervisors' rules, driven with a controllable clock: business hours, routing, SLA
reminders and alerts, reopening, feedback alerts and NPS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.errors import HandoffError
from bot.settings import FeedbackSettings, HoursSettings, RoutingSettings, Settings
from bot.storage import supervision_queries as q
from bot.storage.models import Feedback
from tests.conftest import Chat, Clock, joined, make_settings, open_chat
from tests.databases import Database

BERLIN = HoursSettings(timezone="Europe/Berlin")


def berlin(tmp_path: Path, database: Database, **more: object) -> Settings:
    return make_settings(tmp_path, database, hours=BERLIN, **more)


async def escalate(chat: Chat, text: str = "I want to talk to a human") -> str:
    await chat.say("hi")
    return joined(await chat.say(text))


async def test_out_of_hours_escalation_opens_a_case_and_promises_the_next_opening(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    clock.current = datetime(2026, 3, 6, 19, 30, tzinfo=UTC)  # Friday 20:30 in Berlin
    async with open_chat(berlin(tmp_path, database), clock) as chat:
        said = await escalate(chat)
        assert "opened case #1" in said
        assert "Nobody from the team is available right now" in said
        assert "from Monday 09:00 (CET)" in said
        assert (await chat.desk())[0].startswith("New case #1")  # agents are still told at once


async def test_nobody_available_gets_the_same_honest_promise(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with open_chat(make_settings(tmp_path, database), clock) as chat:
        async with chat.app.repo.transaction() as tx:
            await q.set_agent(tx, "Bob", "away", ["general"], clock())
        said = await escalate(chat)
        assert "Nobody from the team is available right now" in said
        assert "from Monday 11:00 (UTC)" in said  # at the latest when the first response is due


async def test_queue_position_and_wait_estimate_from_recent_history(chat: Chat) -> None:
    await escalate(chat)
    chat.clock.advance(minutes=12)
    await chat.app.desk.claim(1, "Bob")
    chat.user = "ben"
    await escalate(chat)
    chat.user = "carl"
    said = await escalate(chat)
    assert "Cases ahead of yours in the queue: 1." in said
    assert "usually picked up within about 12 minutes" in said


async def test_legal_cases_are_routed_to_the_legal_group(chat: Chat) -> None:
    await escalate(chat, "I will take legal action over this")
    chat.user = "ben"
    await escalate(chat, "I was charged twice, let me talk to a human")
    chat.user = "carl"
    await escalate(chat)
    groups = {c.number: c for c in await chat.app.desk.cases()}
    async with chat.app.repo.transaction() as tx:
        routed = [(await tx.case(n)).group for n in sorted(groups)]  # type: ignore[union-attr]
    assert routed == ["legal", "billing", "general"]


async def test_breach_reminder_then_alert_then_unclaimed_escalation(chat: Chat) -> None:
    await escalate(chat)
    (await chat.desk())
    await chat.tick(minutes=59)
    assert (await chat.desk()) == []
    await chat.tick(minutes=2)  # unclaimed for an hour: the supervisor hears of it
    assert (await chat.desk()) == ["Case #1 (other, normal) is still unclaimed."]
    await chat.tick(minutes=45)  # 15 minutes before the 2 h first-response target
    assert (await chat.desk()) == [
        "Case #1: first response due Monday 11:00 (UTC) (unclaimed, group general)."
    ]
    await chat.tick(minutes=15)
    assert (await chat.desk()) == [
        "SLA breached: case #1 has had no first response (unclaimed, group general)."
    ]
    assert chat.desk_inbox.sent[-1][1].extra["kind"] == "supervisor_alert"
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.first_response_breached and not case.resolution_breached
    await chat.tick(hours=1)
    assert (await chat.desk()) == []  # each timer fires once


async def test_a_first_response_in_time_means_no_reminder(chat: Chat) -> None:
    await escalate(chat)
    chat.clock.advance(minutes=30)
    await chat.app.desk.reply(1, "Bob", "On it")
    (await chat.desk())
    await chat.tick(hours=2)
    assert not [t for t in (await chat.desk()) if "first response" in t]


async def test_resolution_clock_pauses_while_waiting_on_the_customer(chat: Chat) -> None:
    await escalate(chat)
    await chat.app.desk.reply(1, "Bob", "Can you send a photo of the label?")
    async with chat.app.repo.transaction() as tx:
        due = (await tx.case(1)).resolution_due_at  # type: ignore[union-attr]
    chat.clock.advance(hours=3)  # 3 business hours waiting on the customer
    await chat.say("Here it is")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.paused_at is None
    assert case.resolution_due_at is not None and due is not None
    # Monday 09:00 + 24 business hours (8 h a day) = Wednesday 17:00; paused for 3 business
    # hours, it moves to Thursday 12:00
    assert due == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert case.resolution_due_at == datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


async def test_an_unclaimed_case_is_offered_to_the_next_group(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    routing = RoutingSettings(offer_next_group_after_minutes=10)
    async with open_chat(make_settings(tmp_path, database, routing=routing), clock) as chat:
        await escalate(chat, "I was charged twice, let me talk to a human")
        (await chat.desk())
        await chat.tick(minutes=11)
        assert (await chat.desk()) == ["Case #1 was not claimed in billing; offered to general."]
        async with chat.app.repo.transaction() as tx:
            assert (await tx.case(1)).group == "general"  # type: ignore[union-attr]


async def test_a_no_at_follow_up_reopens_the_case_with_its_history(chat: Chat) -> None:
    await escalate(chat)
    await chat.app.desk.reply(1, "Bob", "Fixed it for you")
    await chat.app.desk.resolve(1, "Bob", "Replaced the part")
    await chat.press("5")
    await chat.press("No, thanks")
    replies = await chat.tick(hours=24, minutes=5)
    assert "case #1" in replies[0].text and "still working" in replies[0].text
    replies = await chat.press("No, I still need help")
    assert replies[0].text.startswith("I'm sorry to hear that. I've reopened case #1 and told Bob")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None
    assert (case.status, case.assigned_agent, case.reopen_count) == ("assigned", "Bob", 1)
    assert case.resolved_at is None
    assert any("reopened" in n for n in (await chat.desk()))
    assert await chat.say("It broke again this morning") == []  # goes to Bob, bot silent
    await chat.app.desk.reply(1, "Bob", "Sending a new one")
    assert (await chat.replies())[0].text == "Sending a new one"


async def test_words_after_a_resolution_are_read_as_a_new_contact(chat: Chat) -> None:
    """Instead of a rating the customer writes: a new question, or words typed while the
    agent resolved the case. The bot reads them (it does not ask for the rating again),
    as a new contact; the resolved case stays resolved."""
    await escalate(chat)
    await chat.app.desk.claim(1, "Bob")
    await chat.app.desk.reply(1, "Bob", "I've sent you a new label")
    await chat.app.desk.resolve(1, "Bob", "New label sent")
    assert (await chat.replies())[-1].text.startswith("How would you rate")
    replies = await chat.say("where is my parcel")
    assert "Did this solve your issue?" in replies[-1].text
    assert (await chat.press("Yes"))[-1].text.startswith("How would you rate")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and (case.status, case.reopen_count) == ("resolved", 0)
    # a customer still writing about the case when it was resolved is not left unread
    await escalate(chat, "I want to talk to a human about my parcel")
    await chat.app.desk.resolve(2, "Bob", "done")
    await chat.replies()
    replies = await chat.say("wait, the label has the wrong address on it")
    assert replies and not replies[0].text.startswith("Please choose a rating")


async def test_thanks_after_a_resolution_is_asked_for_the_rating_again(chat: Chat) -> None:
    await escalate(chat)
    await chat.app.desk.resolve(1, "Bob", "done")
    await chat.replies()
    assert (await chat.say("thanks"))[0].text.startswith("Please choose a rating")
    assert (await chat.press("5"))[0].text.startswith("Thank you! Would you like to add")


async def test_follow_up_outside_the_reopen_window_starts_afresh(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    feedback = FeedbackSettings(reopen_window_days=0.5)
    async with open_chat(make_settings(tmp_path, database, feedback=feedback), clock) as chat:
        await escalate(chat)
        await chat.app.desk.resolve(1, "Bob")
        await chat.press("Skip")
        await chat.tick(hours=24, minutes=5)
        replies = await chat.press("No, I still need help")
        assert "tell me what is still wrong" in replies[0].text


async def test_a_low_csat_alerts_the_supervisor_with_the_transcript_link(chat: Chat) -> None:
    await escalate(chat)
    await chat.app.desk.resolve(1, "Bob", "done")
    (await chat.desk())
    await chat.press("1")
    await chat.say("Nobody helped me")
    assert (await chat.desk()) == [
        "Low CSAT 1/5 from Anna on case #1: Nobody helped me. Transcript: supportbot cases show 1"
    ]


async def test_nps_is_asked_at_the_configured_rate(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with open_chat(
        make_settings(tmp_path, database, feedback=FeedbackSettings(nps_rate=1.0)), clock
    ) as chat:
        await chat.say("hi")
        await chat.say("How do I exchange an item?")
        await chat.press("Yes")
        await chat.press("4")
        replies = await chat.press("No, thanks")
        assert "how likely are you to recommend Acme" in replies[0].text
        assert [b.label for b in replies[0].buttons][:3] == ["0", "1", "2"]
        await chat.say("eleven")
        assert "from 0 to 10" in chat.texts()[0]
        await chat.press("9")
        assert "Thank you for your feedback" in chat.texts()[0]
        async with chat.app.repo.transaction() as tx:
            rows = (await tx.session.execute(select(Feedback.kind, Feedback.score))).all()
        assert sorted(rows) == [("csat", 4), ("nps", 9)]


async def test_agents_mark_themselves_available_or_away(chat: Chat) -> None:
    desk = chat.app.desk
    assert await desk.set_availability("Bob", True, ["billing"]) == "Bob is available (billing)."
    assert await desk.set_availability("Bob", False) == "Bob is away (billing)."
    assert await desk.agents() == [("Bob", "away", ["billing"])]
    with pytest.raises(HandoffError, match="Unknown group 'sales'"):
        await desk.set_availability("Ann", True, ["sales"])
    said = await escalate(chat, "I was charged twice, let me talk to a human")
    assert "Nobody from the team is available right now" in said  # Bob, billing, is away


async def test_a_progress_update_reaches_the_customer_and_keeps_the_clock_running(
    chat: Chat,
) -> None:
    await escalate(chat)
    await chat.app.desk.claim(1, "Bob")
    said = await chat.app.desk.reply(1, "Bob", "The replacement has shipped.", progress=True)
    assert said == "Update sent to the customer of case #1."
    assert [r.text for r in await chat.replies()][-1] == (
        "Update on your case #1: The replacement has shipped."
    )
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
        kinds = [e.kind for e in await tx.case_events(1)]
    assert case is not None and case.paused_at is None  # not waiting on the customer
    assert case.first_response_at is not None
    assert kinds[-1] == "progress"
