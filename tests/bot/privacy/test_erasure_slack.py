"""Erasure of a Slack customer whose case went through a thread of the agents' channel:
the real Slack service (bolt over HTTP, engine, database) against the fake Slack Web
API. Afterwards her words and ids are nowhere in the database, its file or the logs, the
other customer's records are as they were, and writing again she starts as a new
customer."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.privacy import erasure, export
from bot.settings import VerificationSettings
from bot.storage.models import Customer
from bot.storage.privacy_queries import find_customer
from tests.bot.channels.slack.conftest import Harness, running, texts
from tests.bot.channels.slack.fake_slack import FakeSlack
from tests.bot.privacy.scenario import Bench, every_value, orders_file, two_cases_on_a_platform
from tests.bot.privacy.test_erasure import file_bytes
from tests.conftest import Clock, Recorder
from tests.databases import Database

NAME = "Zelda Quillfeather"
SECRETS = [NAME, "Quillfeather", "zelda.quill@example.org", "ZQ-778899", "lighthouse",
           "U_ZELDA", "D_ZELDA"]  # fmt: skip


@pytest.fixture
async def slack(
    tmp_path: Path, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    for name in [n for n in os.environ if n.startswith("SLACK_")]:
        monkeypatch.delenv(name)
    fake = FakeSlack(members={"UBOT", "U_BOB"},
                     users={"U_ZELDA": NAME, "U_ANNA": "Anna", "U_BOB": "Bob"})  # fmt: skip
    fake.min_interval = 0.02
    await fake.start()
    settings = {
        "database_url": database.url,
        "verification": VerificationSettings(orders_file=orders_file(tmp_path)),
    }
    try:
        async with running(tmp_path, clock, fake, settings=settings) as harness:
            yield harness
    finally:
        await fake.stop()


def ours(record: logging.LogRecord) -> bool:
    """Not the fake Slack's own access log (it serves users.info?user=…, as Slack would)."""
    return record.name != "aiohttp.access" or "/slack/events" in record.getMessage()


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


async def test_a_slack_customer_is_erased_everywhere_and_comes_back_as_new(
    slack: Harness, tmp_path: Path, database: Database, clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    zelda, anna = slack.customer("U_ZELDA", "D_ZELDA"), slack.customer("U_ANNA", "D_ANNA")
    bob = slack.agent("U_BOB")
    await two_cases_on_a_platform(zelda, anna, bob)

    app = slack.app
    b = Bench(app, clock, Recorder(), Recorder())  # to read every table
    assert set(leaks(" ".join(v for _, v in await every_value(b)))) == set(SECRETS)
    anna_before = await export.export(app.repo, "slack:U_ANNA", by="t", now=app.engine.ctx.now())
    async with app.repo.transaction() as tx:
        assert await tx.desk_thread(1, "slack") is not None
        first_id = await find_customer(tx, "slack:U_ZELDA")

    report = await erasure.erase(app.repo, "slack:U_ZELDA", by="Dora", reason="case 1",
                                 now=app.engine.ctx.now())  # fmt: skip

    assert report.customer_id == first_id and report.file_scrubbed
    assert report.counts["desk_threads"] == 1 and report.counts["messages"] > 5
    assert [(t, v[:50]) for t, v in await every_value(b) if leaks(v)] == []
    if database.is_sqlite:  # the file itself (PostgreSQL's pages: test_postgres_pages.py)
        assert leaks(file_bytes(tmp_path).decode("utf-8", "replace")) == []
    assert leaks("\n".join(r.getMessage() for r in caplog.records if ours(r))) == []
    anna_after = await export.export(app.repo, "slack:U_ANNA", by="t", now=app.engine.ctx.now())
    for table, rows in anna_before["records"].items():
        if table != "audit_events":
            assert anna_after["records"][table] == rows, table
    assert slack.fake.in_channel("D_ZELDA")  # (what Slack itself keeps is deleted on Slack)

    # The same Slack user writing again is a new customer, greeted like one.
    assert texts(await zelda.says("hi again"))[0].startswith(f"Hello {NAME}, thank you")
    async with app.repo.transaction() as tx:
        again = await find_customer(tx, "slack:U_ZELDA")
        old = await tx.session.scalar(select(Customer).where(Customer.id == first_id))
    assert again is not None and again not in {first_id, 2}
    assert old is not None and old.erased_at is not None and old.display_name is None
