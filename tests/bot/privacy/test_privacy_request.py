"""A data-protection request in the chat, end to end: recognised in the customer's words
or /privacy, identity verified, a case for the data-protection team, the deadline said;
and nothing erased."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.dialogue.intents import privacy_kind
from bot.dialogue.privacy import add_months
from bot.privacy import export
from tests.bot.privacy.scenario import (
    ZELDA_EMAIL,
    ZELDA_NAME,
    ZELDA_ORDER,
    bench,
    scenario_settings,
)
from tests.conftest import Chat, Clock, joined
from tests.databases import Database


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("Please delete my data", "erasure"),
        ("forget me", "erasure"),
        ("I want to exercise my right to be forgotten", "erasure"),
        ("What data do you have about me?", "access"),
        ("Can I get a copy of my data", "access"),
        ("/privacy", "request"),
        ("this is a GDPR request", "request"),
    ],
)
async def test_a_request_in_the_customers_words_opens_a_case_after_verification(
    tmp_path: Path, database: Database, clock: Clock, words: str, kind: str
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await b.say("zelda", ZELDA_NAME, "hi")
        await b.say("zelda", ZELDA_NAME, words)
        asked = b.seen_by("zelda")[-1].text
        assert "data-protection team" in asked and "email address" in asked
        await b.say("zelda", ZELDA_NAME, ZELDA_EMAIL)
        await b.say("zelda", ZELDA_NAME, ZELDA_ORDER)
        told = joined(b.seen_by("zelda")[-3:])
        assert "your identity is verified" in told
        assert "opened case #1" in told and "request about your personal data" in told
        assert "nothing is deleted on a chat message alone" in told
        assert "within one month, so at the latest by 02 April 2026" in told
        async with b.app.repo.transaction() as tx:
            case = await tx.case(1)
        assert case is not None
        assert (case.reason, case.group, case.priority) == ("privacy_request", "data_protection",
                                                            "high")  # fmt: skip
        assert case.details["verified"] is True and case.details["email"] == ZELDA_EMAIL
        assert case.details["privacy"] == {"request": kind, "due": "2026-04-02"}
        assert privacy_kind(words) == kind
        # Nothing was erased: everything is still there to export.
        document = await export.export(b.app.repo, "local:zelda", by="t", now=clock())
        assert document["records"]["customers"][0]["email"] == ZELDA_EMAIL
        assert len(document["records"]["messages"]) >= 8


async def test_privacy_from_the_first_message_greets_then_verifies(chat: Chat) -> None:
    replies = await chat.say("/privacy")
    assert replies[0].text.startswith("Hello Anna")
    assert "verify your identity" in replies[1].text


async def test_an_already_verified_customer_is_not_asked_again(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I need to change the email address on my account")
    await chat.say("anna@example.com")
    await chat.say("A10001")
    replies = await chat.say("Actually, please erase my personal data")
    text = joined(replies)
    assert "opened case #1" in text and "delete your personal data" in text


async def test_failed_verification_still_reaches_the_team_unverified(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("delete my data")
    for _ in range(3):
        await chat.say("nobody@example.com")
        await chat.say("A99999")
    assert "opened case #1" in joined(chat.last)
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.reason == "privacy_request"
    assert case.details["verified"] is False


async def test_a_legal_threat_about_data_stays_a_legal_matter(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I will file a GDPR complaint with the data protection authority")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.reason == "legal"


async def test_the_deadline_is_a_calendar_month_and_a_setting(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    settings = scenario_settings(tmp_path, database, privacy={"request_deadline_months": 2})
    async with bench(settings, clock) as b:
        await b.say("zelda", ZELDA_NAME, "/privacy")
        await b.say("zelda", ZELDA_NAME, ZELDA_EMAIL)
        await b.say("zelda", ZELDA_NAME, ZELDA_ORDER)
        assert "within 2 months, so at the latest by 02 May 2026" in b.seen_by("zelda")[-1].text
