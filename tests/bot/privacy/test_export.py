"""Export: every record the data map names for the customer, theirs only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.app import running_app
from bot.delivery import DeliveryUncertain
from bot.messages import Message, Reply
from bot.privacy import export
from bot.privacy.datamap import DATA_MAP
from bot.privacy.refs import NoSuchCustomer
from bot.settings import Settings
from tests.bot.privacy.scenario import (
    OMAR,
    ZELDA_EMAIL,
    ZELDA_NAME,
    ZELDA_ORDER,
    ZELDA_SECRETS,
    ZELDA_TEXTS,
    bench,
    scenario_settings,
    zelda_and_omar,
)
from tests.conftest import Clock
from tests.databases import Database

HERS = ("customers", "identities", "conversations", "cases", "case_events", "messages",
        "feedback", "kb_queries", "followups", "contacts", "outbox", "audit_events")  # fmt: skip


async def test_the_export_holds_every_record_of_hers_and_nothing_of_anyone_else(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await zelda_and_omar(b)
        document = await export.export(b.app.repo, "local:zelda", by="Dora", now=clock())
        records = document["records"]
        assert set(records) == {e.table for e in DATA_MAP if e.owner}
        assert [t for t in HERS if not records[t]] == []
        dumped = json.dumps(document, ensure_ascii=False)
        assert OMAR[1] not in dumped and OMAR[2] not in dumped and OMAR[3] not in dumped

        # Every row anywhere that mentions her is in the export, under its table.
        async with b.app.repo.transaction() as tx:
            for entry in DATA_MAP:
                table = entry.model.__table__
                for row in (await tx.session.execute(table.select())).mappings():
                    text = " ".join(str(v) for v in row.values()).lower()
                    if any(s.lower() in text for s in ZELDA_SECRETS):
                        keys = [c.name for c in table.primary_key.columns]
                        exported = [[r[k] for k in keys] for r in records[entry.table]]
                        assert [row[k] for k in keys] in exported, (entry.table, dict(row))

        assert records["customers"][0]["display_name"] == ZELDA_NAME
        assert records["customers"][0]["email"] == ZELDA_EMAIL
        notes = [m for m in records["messages"] if m["internal"]]
        assert len(notes) == 1 and notes[0]["marked"].startswith("internal note")
        transcript = "\n".join(document["transcript"])
        assert all(text in transcript for text in ZELDA_TEXTS)
        assert f"Bob [internal note] (case #1): {ZELDA_NAME}" in transcript
        assert ZELDA_ORDER in transcript
        assert document["what_we_store"]["messages"]["personal_data"]["text"] == "message text"


@pytest.mark.parametrize("ref", ["local:zelda", ZELDA_EMAIL, "ZELDA.QUILL@example.org", "1",
                                 "customer:1"])  # fmt: skip
async def test_a_customer_is_found_by_identity_email_or_id(
    tmp_path: Path, database: Database, clock: Clock, ref: str
) -> None:
    async with bench(scenario_settings(tmp_path, database), clock) as b:
        await zelda_and_omar(b)
        document = await export.export(b.app.repo, ref, by="Dora", now=clock())
        assert document["customer_id"] == 1
        by_case = await export.export(b.app.repo, None, case=2, by="Dora", now=clock())
        assert by_case["customer_id"] == 2
        with pytest.raises(NoSuchCustomer, match="telegram:999"):
            await export.export(b.app.repo, "telegram:999", by="Dora", now=clock())


async def test_a_reply_the_bot_could_not_confirm_is_marked_in_her_export(
    settings: Settings, clock: Clock
) -> None:
    class NeverAnswered:
        """Each send goes out, but no answer ever comes back."""

        async def send(self, address: str, reply: Reply) -> None:
            raise DeliveryUncertain(f"chat {address}: request timeout")

    hello = Message("test", "anna", "anna", "hi", message_id="anna-1", user_name="Anna")
    async with running_app(settings, senders={"test": NeverAnswered()}, now=clock) as app:
        await app.engine.handle_message(hello)
        await app.engine.deliver()  # the one more try, after which it is given up
        document = await export.export(app.repo, "test:anna", by="Dora", now=clock())

    marked = [m for m in document["records"]["messages"] if "delivery" in m]
    assert [m["text"][:11] for m in marked] == ["Hello Anna,"]
    assert marked[0]["delivery"] == export.UNCERTAIN
    (line,) = [t for t in document["transcript"] if "Hello Anna," in t]
    assert " [delivery uncertain]: Hello Anna," in line
    assert [d["status"] for d in document["records"]["outbox"]] == ["uncertain"]
