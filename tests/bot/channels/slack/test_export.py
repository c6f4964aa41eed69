"""An agent answers a customer's request for their data from the case's thread:
``!export`` uploads the export to the customer's direct message, for a verified customer
only, and the audit trail says who sent it from which case."""

from __future__ import annotations

import json

from bot.privacy import audit
from bot.storage.privacy_queries import AuditFilter
from tests.bot.channels.slack.conftest import Harness, texts


async def test_an_agent_sends_a_verified_customer_their_data(slack: Harness) -> None:
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("hi")
    await anna.says("What data do you have about me?")
    await anna.says("anna@example.com")
    assert "opened case #1" in " ".join(texts(await anna.says("A10001")))

    assert await bob.says(1, "!export") == 200

    [shared] = slack.fake.files
    assert (shared.channel, shared.name) == ("D_ANNA", "acme-your-data-case-1-2026-03-02.json")
    assert shared.comment.startswith(
        "*Bob* (Acme support):\nHere is a copy of the personal data we hold about you (case #1)"
    )
    document = json.loads(shared.content)
    assert document["records"]["customers"][0]["email"] == "anna@example.com"
    assert any("What data do you have about me?" in line for line in document["transcript"])
    assert bob.told() == [
        "Sent the customer of case #1 a copy of their data "
        f"({sum(len(r) for r in document['records'].values())} records, {shared.name}); "
        "recorded in the audit trail."
    ]
    assert "Claimed by Bob" in bob.card(1).all_text()  # sending it took the case
    claimed, exported = await audit.events(slack.app.repo, AuditFilter(case_id=1, actor="Bob"))
    assert (claimed.action, exported.action, exported.customer_id) == ("claimed", "exported", 1)
    assert exported.detail["sent_to"] == "slack" and exported.detail["records"]["messages"] > 5


async def test_an_unverified_customer_is_not_sent_their_data(slack: Harness) -> None:
    ben, bob = slack.customer("U_BEN", "D_BEN"), slack.agent("U_BOB")
    await ben.says("I want to talk to a human")
    ben.new()

    assert await bob.says(1, "/export") == 200

    assert slack.fake.files == [] and ben.new() == []
    [refusal] = bob.told()
    assert refusal.startswith("Case #1: the customer's identity was not verified in the chat")
    assert "supportbot privacy export --case 1 --out FILE" in refusal
    assert "Open" in bob.card(1).all_text()  # refused: nothing changed, not even the claim
    assert await audit.events(slack.app.repo, AuditFilter(case_id=1, actor="Bob")) == []
