"""Erasure of a Telegram customer whose case went through the agents' forum topic: the
real bot process (aiogram, engine, database) against the fake Bot API. Afterwards
their words are nowhere in the database, its file or the logs, and the other customer's
records are as they were."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.channels.telegram.settings import TelegramSettings
from bot.privacy import erasure, export
from tests.bot.channels.telegram.conftest import Bench, BotProcess
from tests.bot.channels.telegram.fake_api import FakeTelegram, fake_telegram
from tests.bot.channels.telegram.fake_world import GROUP_ID, TOKEN
from tests.bot.privacy.scenario import every_value, scenario_settings, two_cases_on_a_platform
from tests.bot.privacy.test_erasure import file_bytes
from tests.databases import Database

NAME = "Zelda Quillfeather"
SECRETS = [NAME, "Quillfeather", "zelda.quill@example.org", "ZQ-778899", "lighthouse",
           "424242"]  # fmt: skip


@pytest.fixture
async def tg(tmp_path: Path, database: Database) -> AsyncIterator[Bench]:
    async with fake_telegram() as fake:
        telegram = TelegramSettings(bot_token=TOKEN, agents_chat_id=GROUP_ID,  # type: ignore[arg-type]
                                    api_url=fake.url, polling_timeout=1)  # fmt: skip
        bot = BotProcess(fake, scenario_settings(tmp_path, database, desk="telegram"), telegram)
        await bot.start()
        try:
            yield Bench(fake, bot)
        finally:
            await bot.stop()


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


async def test_a_telegram_customer_is_erased_everywhere(
    tg: Bench, tmp_path: Path, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake: FakeTelegram = tg.fake
    zelda, anna, bob = tg.customer(NAME, 424242), tg.customer("Anna", 111), tg.agent("Bob", 501)
    await two_cases_on_a_platform(zelda, anna, bob)

    app = tg.bot.runtime.app
    b = SimpleNamespace(app=app)
    assert set(leaks(" ".join(v for _, v in await every_value(b)))) == set(SECRETS)
    anna_before = await export.export(app.repo, "telegram:111", by="t", now=app.engine.ctx.now())
    async with app.repo.transaction() as tx:
        assert await tx.desk_thread(1, "telegram") is not None

    report = await erasure.erase(app.repo, "telegram:424242", by="Dora", reason="case 1",
                                 now=app.engine.ctx.now())  # fmt: skip

    assert report.counts["desk_threads"] == 1 and report.counts["messages"] > 5
    assert [(t, v[:50]) for t, v in await every_value(b) if leaks(v)] == []
    if database.is_sqlite:  # the file itself (PostgreSQL's files: docs/privacy.md)
        assert leaks(file_bytes(tmp_path).decode("utf-8", "replace")) == []
    assert leaks("\n".join(r.getMessage() for r in caplog.records)) == []
    anna_after = await export.export(app.repo, "telegram:111", by="t", now=app.engine.ctx.now())
    for table, rows in anna_before["records"].items():
        if table != "audit_events":
            assert anna_after["records"][table] == rows, table
    assert fake.world.chats  # (what Telegram itself keeps is deleted on Telegram)
