"""A bot process SIGKILLed in the middle of a busy minute, on SQLite: nothing it
acknowledged is lost, the file is intact, and the platform's redelivery of everything
(processed or not) leaves every customer with the transcript of a run that never
crashed: no message lost, none handled twice, none out of order.

The bot runs in a separate process, as in production; "acknowledged" means that
``Engine.handle_message`` returned for the message (what a webhook answers 200 on).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 100
SCRIPT = ["Hi", "How do I exchange an item?", "Yes", "5", "Hi", "How do I exchange an item?",
          "Yes", "5"]  # fmt: skip
KILL_AFTER = 300  # acknowledged messages of the CUSTOMERS x len(SCRIPT)

BOT = """
import asyncio, sys
from bot.app import running_app
from bot.messages import Message
from bot.runner import background
from bot.settings import AbuseSettings, Settings

class Sink:
    async def send(self, address, reply):
        pass

async def main(url, customers, script):
    settings = Settings(database_url=url, abuse=AbuseSettings(messages_per_minute=1_000_000))
    async with running_app(settings, senders={"crash": Sink()}) as app:
        work = asyncio.create_task(background(app.engine))  # as every bot process runs
        async def customer(c):
            for m, text in enumerate(script):
                message = Message("crash", f"c{c}", f"c{c}", text, message_id=f"{m}",
                                  user_name=f"Customer{c}")
                await app.engine.handle_message(message)
                print(f"ack crash:c{c}:{m}", flush=True)
        await asyncio.gather(*(customer(c) for c in range(customers)))
        await app.engine.deliver()  # replies the killed process stored and did not send
        work.cancel()  # and waited for: cancelled mid-statement, it would be left holding
        try:           # a connection the app's exit closes, and asyncio.run would hang
            await work
        except asyncio.CancelledError:
            pass
    print("done", flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3].split("|")))
"""


def start_bot(url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    command = [sys.executable, "-c", BOT, url, str(CUSTOMERS), "|".join(SCRIPT)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env)  # fmt: skip


def run_to_the_end(url: str) -> None:
    bot = start_bot(url)
    out, err = bot.communicate(timeout=180)
    assert bot.returncode == 0, err[-2000:]
    assert out.splitlines()[-1] == "done"


def transcripts(db: Path) -> dict[str, list[tuple[str, str]]]:
    """Each customer's messages in the order stored: (sender, text)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT c.chat_id, m.sender, m.text FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
        ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for chat, sender, text in rows:
        found.setdefault(chat, []).append((sender, text))
    return found


def test_a_bot_killed_mid_batch_loses_nothing_it_acknowledged_and_redelivery_completes_it(
    tmp_path: Path,
) -> None:
    crashed = tmp_path / "crashed.db"
    url = f"sqlite+aiosqlite:///{crashed}"
    bot = start_bot(url)
    acknowledged: list[str] = []
    assert bot.stdout is not None
    for line in bot.stdout:
        if line.startswith("ack "):
            acknowledged.append(line.split()[1])
        if len(acknowledged) >= KILL_AFTER:
            break
    bot.send_signal(signal.SIGKILL)  # in the middle of group-committed batches
    rest, _ = bot.communicate(timeout=30)
    acknowledged += [line.split()[1] for line in rest.splitlines() if line.startswith("ack ")]
    assert bot.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(acknowledged) < CUSTOMERS * len(SCRIPT)

    with sqlite3.connect(crashed) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {key for (key,) in conn.execute("SELECT dedupe_key FROM messages")}
    assert set(acknowledged) <= stored  # every acknowledged message is on disk

    # The platform sends everything again: what was stored is recognised, the rest is
    # handled now, in each customer's order.
    run_to_the_end(url)
    calm = tmp_path / "calm.db"
    run_to_the_end(f"sqlite+aiosqlite:///{calm}")

    after_crash, without_crash = transcripts(crashed), transcripts(calm)
    assert len(without_crash) == CUSTOMERS
    assert after_crash == without_crash
    customer_messages = sum(s == "customer" for t in after_crash.values() for s, _ in t)
    assert customer_messages == CUSTOMERS * len(SCRIPT)
    assert outbox(crashed) == outbox(calm)  # every reply sent, none left behind
    assert set(outbox(calm)) == {"sent"}


def outbox(db: Path) -> dict[str, int]:
    """How many of the outbox's rows are in each status."""
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
