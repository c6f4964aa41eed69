"""How much memory does the bot take? (issue 10's memory targets)

Runs the engine in this process, as ``supportbot chat`` does (local channel only: no
platform library is imported), on a fresh SQLite file, and prints resident memory:

1. idle, with the knowledge base loaded (target: 80 MB with 1,500 articles);
2. after ``--conversations`` customers each opened a conversation and are still in it
   (target: 10,000 open conversations add at most 20 MB);
3. while ``--messages`` more messages flow through conversations that come and go,
   sampled at each tenth (target: the last sample within 10% of the one at a tenth).

    .venv/bin/python -m benchmarks.clinc_kb_files /tmp/kb1500
    .venv/bin/python -m benchmarks.memory --kb /tmp/kb1500
    .venv/bin/python -m benchmarks.memory --kb /tmp/kb1500 --messages 500000   # long

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import running_app
from bot.messages import Message, Reply
from bot.settings import AbuseSettings, Settings

CHANNEL = "memory"
CONCURRENCY = 200
TURN = ["Hi", "where is my order", "No", "I want a refund", "Thanks, bye"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sink:
    """The channel's sender: replies are counted, not kept."""

    def __init__(self) -> None:
        self.replies = 0

    async def send(self, address: str, reply: Reply) -> None:
        self.replies += 1


async def flood(count: int, say: Callable[[int], Awaitable[None]]) -> None:
    """``say(i)`` for i in range(count), ``CONCURRENCY`` at a time."""
    queue = iter(range(count))

    async def lane() -> None:
        for i in queue:
            await say(i)

    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))


async def measure(args: argparse.Namespace, settings: Settings) -> None:
    sink = Sink()
    async with running_app(settings, senders={CHANNEL: sink, "desk": sink}) as app:
        gc.collect()
        await asyncio.sleep(1)
        idle = rss_mb()
        print(f"idle, {len(app.kb.articles):,} articles loaded: {idle:.1f} MB")

        async def open_one(i: int) -> None:
            chat = f"open-{i}"
            msg = Message(CHANNEL, chat, chat, "Hi", message_id=f"o{i}", user_name=f"C{i}")
            await app.engine.handle_message(msg)

        began = time.perf_counter()
        await flood(args.conversations, open_one)
        gc.collect()
        opened = rss_mb()
        print(f"{args.conversations:,} conversations open: {opened:.1f} MB "
              f"(+{opened - idle:.1f} MB; {time.perf_counter() - began:.0f} s)")  # fmt: skip

        async def talk(i: int) -> None:
            chat = f"flow-{i // len(TURN)}"  # a conversation of five messages, then the next
            text = TURN[i % len(TURN)]
            msg = Message(CHANNEL, chat, chat, text, message_id=f"f{i}", user_name="Flow")
            await app.engine.handle_message(msg)

        tenth = max(1, args.messages // 10)
        samples: list[float] = []
        began = time.perf_counter()
        for part in range(10):
            start = part * tenth
            await flood(tenth, lambda i, s=start: talk(s + i))  # type: ignore[misc]
            gc.collect()
            samples.append(rss_mb())
            done = (part + 1) * tenth
            rate = done / (time.perf_counter() - began)
            print(f"  after {done:,} messages: {samples[-1]:.1f} MB ({rate:.0f} msg/s)")
        growth = (samples[-1] - samples[0]) / samples[0] * 100
        print(f"from {tenth:,} to {10 * tenth:,} messages: {growth:+.1f}% "
              f"({sink.replies:,} replies sent in all)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, help="article folder (default: the sample)")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="supportbot-memory-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'memory.db'}",
        sqlite_synchronous="NORMAL", abuse=AbuseSettings(messages_per_minute=1_000_000),
        **({"kb_path": args.kb} if args.kb else {}),
    )  # fmt: skip
    # Migrate in another process, as the first start of a new bot would: this process
    # then measures a bot on an up-to-date database (no Alembic loaded).
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": settings.database_url}
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    asyncio.run(measure(args, settings))


if __name__ == "__main__":
    main()
