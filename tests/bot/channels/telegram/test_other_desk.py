"""Agents on another desk (Slack): this process serves customers only; the desk is a
setting, not a code path."""

from __future__ import annotations

from pathlib import Path

from bot.channels.telegram.settings import TelegramSettings
from tests.bot.channels.telegram.conftest import Bench, BotProcess
from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP, Person, utf16_len
from tests.conftest import make_settings


async def test_customers_on_telegram_with_agents_on_slack(
    fake: FakeTelegram, tmp_path: Path, telegram_settings: TelegramSettings
) -> None:
    bot = BotProcess(fake, make_settings(tmp_path, desk="slack"), telegram_settings)
    await bot.start()
    tg = Bench(fake, bot)
    try:
        anna = tg.customer("Anna", 111)
        await anna.says("hi")
        assert any("case #1" in line for line in await anna.says("Can I talk to a human?"))
        assert fake.world.topics == {}  # the Slack process posts the case, not us
        async with bot.runtime.app.repo.transaction() as tx:
            waiting = await tx.pending_outbox(["desk"], "slack")
        assert [r.payload["extra"]["kind"] for r in waiting] == ["case_opened"]

        # A post in some Telegram group is nobody's business here.
        eve = Person(666, "Eve")
        update = fake.push({"message": fake.world.new_message(GROUP, eve, 3, text="hello")})
        await bot.settle(update)

        # Dana answers from Slack (the Slack process writes to the same database); her
        # reply reaches Anna through our outbox, a Slack file reference is not copied.
        source = {"channel": "slack", "chat_id": "C1", "message_id": "171.2"}
        await bot.runtime.app.desk.reply(1, "Dana", "Hi Anna, Dana here", extra={"source": source})
        await bot.settle()
        assert anna.news() == ["Dana: Hi Anna, Dana here"]
        assert fake.called("copyMessage") == []

        # Slack lets Dana write far more than one Telegram message holds (4,096 UTF-16
        # units; an emoji is two): Anna gets it in parts, in order, nothing lost.
        long = "\n".join(f"Step {n}: unscrew panel {n} 🔧 and check the seal." for n in range(400))
        await bot.runtime.app.desk.reply(1, "Dana", long)
        await bot.settle()
        parts = anna.news()
        assert len(parts) >= 5
        assert all(utf16_len(part) <= 4096 for part in parts)
        assert " ".join(" ".join(parts).split()) == " ".join(f"Dana: {long}".split())
    finally:
        await bot.stop()
