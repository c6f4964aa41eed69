"""An agent answers a customer's request for their data from the case's topic:
``/export`` sends the export to the customer's private chat as a document, for a
verified customer only."""

from __future__ import annotations

import json
import re

from tests.bot.channels.telegram.conftest import Bench


async def test_an_agent_sends_a_verified_customer_their_data_as_a_document(tg: Bench) -> None:
    anna, bob = tg.customer("Anna", 111), tg.agent("Bob", 501)
    await anna.says("hi")
    await anna.says("What data do you have about me?")
    await anna.says("anna@example.com")
    assert any("opened case #1" in line for line in await anna.says("A10001"))
    await tg.topic(1)

    await bob.says(1, "/export")

    said, sent = anna.news()
    assert said.startswith("Bob: Here is a copy of the personal data we hold about you (case #1)")
    assert sent == "[document]"
    message = tg.fake.world.chats[111][-1]
    name = message["document"]["file_name"]
    assert re.fullmatch(r"acme-your-data-case-1-\d{4}-\d{2}-\d{2}\.json", name)
    assert name in said
    document = json.loads(tg.fake.world.documents[message["document"]["file_id"]])
    assert document["records"]["customers"][0]["email"] == "anna@example.com"
    assert [i["external_id"] for i in document["records"]["identities"]] == ["111"]
    records = sum(len(rows) for rows in document["records"].values())
    assert sorted(await tg.topic(1)) == [
        "Case #1 claimed by Bob.",
        f"Sent the customer of case #1 a copy of their data ({records} records, {name}); "
        "recorded in the audit trail.",
    ]
    async with tg.bot.runtime.app.repo.transaction() as tx:
        events = [(e.actor, e.kind) for e in await tx.case_events(1)]
    assert events[-2:] == [("Bob", "claimed"), ("Bob", "exported")]

    # A second copy names the first one among the deliveries, without repeating it.
    await bob.says(1, "/export")
    assert anna.news()[-1] == "[document]"
    again = tg.fake.world.documents[tg.fake.world.chats[111][-1]["document"]["file_id"]]
    files = [d["payload"]["extra"].get("file") for d in json.loads(again)["records"]["outbox"]]
    [earlier] = [f for f in files if f]
    assert earlier["name"] == name and earlier["text"].startswith("[an earlier copy")
    assert len(again) < 1.5 * len(json.dumps(document, ensure_ascii=False, indent=2))


async def test_an_unverified_customer_is_not_sent_their_data(tg: Bench) -> None:
    ben, bob = tg.customer("Ben", 222), tg.agent("Bob", 501)
    await ben.says("hi")
    await ben.says("Can I talk to a human, please?")
    await tg.topic(1)

    await bob.says(1, "/export")

    assert ben.news() == []
    [refusal] = await tg.topic(1)
    assert refusal.startswith("Case #1: the customer's identity was not verified in the chat")
    assert tg.fake.called("sendDocument") == []
