"""``supportbot run telegram`` as an operator runs it: a real process, the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import aiohttp

from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP_ID, TOKEN, Person, private_chat
from tests.conftest import REPO

SUPPORTBOT = str(Path(sys.executable).parent / "supportbot")


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTBOT_", "TELEGRAM_"))}
    env.update(SUPPORTBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
               SUPPORTBOT_DESK="telegram", TELEGRAM_BOT_TOKEN=TOKEN,
               TELEGRAM_AGENTS_CHAT_ID=str(GROUP_ID), **extra)  # fmt: skip
    return env


async def test_the_bot_serves_customers_stops_on_sigterm_and_never_logs_its_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    # A proxy that echoes the request path (which holds the token) in its error.
    fake.fail("getUpdates", status=502, description="Bad Gateway for {path}")
    with socket.socket() as probe:  # a poller opens no port: it listens on health.port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = environment(tmp_path, TELEGRAM_API_URL=fake.url, TELEGRAM_POLLING_TIMEOUT="1",
                      SUPPORTBOT_HEALTH__PORT=str(port))  # fmt: skip
    log_file = tmp_path / "stderr.log"
    with log_file.open("wb") as stderr:  # a file: a full pipe would block the bot
        process = await asyncio.create_subprocess_exec(
            SUPPORTBOT, "--log-level", "DEBUG", "run", "telegram", cwd=REPO, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            anna = Person(111, "Anna")
            message = fake.world.new_message(private_chat(anna), anna, text="hi")
            fake.push({"message": message})
            await fake.until(lambda: len(fake.world.chats[111]) == 2, within=30)
            assert fake.world.chats[111][1]["text"].startswith("Hello Anna")
            health = await asyncio.create_subprocess_exec(  # as cron would, meanwhile
                SUPPORTBOT, "health", cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            said = (await asyncio.wait_for(health.communicate(), 60))[0].decode()
            assert health.returncode == 0, said
            assert said.startswith("ok    telegram  alive ") and f"pid {process.pid}" in said
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    assert 'supportbot_outbox_sent_total{outbox="customers"} 1.0' in (
                        await response.text()
                    )
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    log = log_file.read_text()
    assert process.returncode == 0, log
    assert "getUpdates failed" in log and "Bad Gateway for /bot[redacted]/getUpdates" in log
    assert TOKEN.partition(":")[2] not in log


def sent_marks(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0])


async def test_a_bot_killed_before_it_stored_an_update_answers_it_once_after_a_restart(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """SIGKILL after getUpdates handed an update over but before it was stored (the
    database was busy): Telegram still holds it, as the offset never moved past it, so
    the next process gets it again and answers it, once."""
    env = environment(tmp_path, TELEGRAM_API_URL=fake.url, TELEGRAM_POLLING_TIMEOUT="1",
                      SUPPORTBOT_BUSY_TIMEOUT_MS="100")  # fmt: skip

    async def start(log: BinaryIO) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            SUPPORTBOT, "run", "telegram", cwd=REPO, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    anna = Person(111, "Anna")

    def answers() -> list[str]:
        return [m["text"] for m in fake.world.chats.get(111, []) if m["from"]["is_bot"]]

    with (tmp_path / "stderr.log").open("wb") as log:
        first = await start(log)
        try:
            fake.push({"message": fake.world.new_message(private_chat(anna), anna, text="hi")})
            await fake.until(lambda: len(answers()) == 1, within=30)
            # (once the greeting is marked sent: a process killed before that mark sends
            # it again, at least once being the only promise a send can keep)
            await fake.until(lambda: sent_marks(tmp_path / "run.db") == 1, within=30)
            busy = sqlite3.connect(tmp_path / "run.db")  # another writer holds the database
            busy.execute("BEGIN IMMEDIATE")
            update = fake.push({"message": fake.world.new_message(
                private_chat(anna), anna, text="where is my parcel")})  # fmt: skip
            await fake.until(lambda: update["update_id"] in fake.delivered, within=30)
            await asyncio.sleep(0.5)  # it is being processed, and cannot be stored
        finally:
            first.kill()
            await first.wait()
        busy.rollback()
        busy.close()
        assert len(answers()) == 1
        second = await start(log)
        try:
            await fake.until(lambda: len(answers()) == 2, within=30)
            await asyncio.sleep(1.5)  # a second answer would come now
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
    assert len(answers()) == 2 and "Did this solve your issue?" in answers()[1]
    check = sqlite3.connect(tmp_path / "run.db")
    stored = check.execute("SELECT count(*) FROM messages WHERE text = 'where is my parcel'")
    assert stored.fetchone() == (1,)
    check.close()


def test_webhook_mode_without_a_secret_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = environment(tmp_path, TELEGRAM_WEBHOOK_URL="https://bot.example.com/hook")
    done = subprocess.run([SUPPORTBOT, "run", "telegram", "--webhook"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "supportbot: invalid setting TELEGRAM_WEBHOOK_SECRET: webhook mode refuses to start "
        "without a secret token"
    )


def test_a_missing_token_is_named(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["TELEGRAM_BOT_TOKEN"]
    done = subprocess.run([SUPPORTBOT, "run", "telegram"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (
        2, "supportbot: invalid setting TELEGRAM_BOT_TOKEN: Field required"
    )  # fmt: skip


def test_the_cli_does_not_load_aiogram_until_the_telegram_command_runs() -> None:
    code = "import sys, bot.cli; print('aiogram' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "False"


async def test_a_webhook_port_in_use_stops_with_one_clear_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    with socket.socket() as taken:  # another program holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = environment(tmp_path, TELEGRAM_API_URL=fake.url, TELEGRAM_WEBHOOK_SECRET="s3cret",
                          TELEGRAM_WEBHOOK_URL="https://bot.example.com/hook",
                          TELEGRAM_WEBHOOK_HOST="127.0.0.1",
                          TELEGRAM_WEBHOOK_PORT=str(port))  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            SUPPORTBOT, "run", "telegram", "--webhook", cwd=REPO, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip() == (
        f"supportbot: invalid setting TELEGRAM_WEBHOOK_PORT: cannot listen on 127.0.0.1:{port} "
        "(Address already in use)"
    )
