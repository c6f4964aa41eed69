"""``supportbot bench``: drive many simulated customers through the real engine and print
how fast it went and whether every reply arrived once and in order.

The local channel runs in-process: each customer is a task that sends its next message
when the previous one has been answered (as a person would), questions are taken from the
knowledge base's own examples with a typo, and some customers escalate and get an answer
from a simulated agent. Latency is from a message's arrival at the engine to its last
reply being accepted by the channel.
"""

from __future__ import annotations

import asyncio
import random
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import select

from bot.app import App, running_app
from bot.messages import Message, Reply
from bot.settings import Settings
from bot.storage.models import Conversation, MessageRecord, OutboxItem

CHANNEL = "bench"


@dataclass
class BenchResult:
    conversations: int
    messages: int
    seconds: float
    messages_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    peak_rss_mb: float
    replies: int
    lost: int
    duplicated: int
    out_of_order: int
    database: str


class Collector:
    """The bench channel: remembers every reply per customer, in arrival order."""

    def __init__(self) -> None:
        self.replies: dict[str, list[str]] = defaultdict(list)

    async def send(self, address: str, reply: Reply) -> None:
        self.replies[address].append(reply.text)


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 8:
        return text
    i = rng.randrange(1, len(text) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def script(app: App, rng: random.Random, count: int) -> list[str]:
    """A plausible conversation of ``count`` customer messages."""
    questions = [q for a in app.kb.articles for q in a.questions]
    lines = ["hi"]
    while len(lines) < count:
        kind = rng.random()
        if kind < 0.6:
            lines += [_typo(rng.choice(questions), rng), rng.choice(["yes", "no"])]
        elif kind < 0.8:
            lines += [rng.choice(["4", "5", "skip"])]
        else:
            lines += ["Thanks, one more question", rng.choice(questions)]
    return lines[:count]


async def _customer(
    app: App,
    name: str,
    lines: list[str],
    latencies: list[float],
    rate_gap: float,
    tick: Callable[[], None],
) -> None:
    for seq, text in enumerate(lines):
        started = time.perf_counter()
        await app.engine.handle_message(
            Message(CHANNEL, name, name, text, message_id=f"{name}-{seq}", user_name=name.title())
        )
        latencies.append(time.perf_counter() - started)
        tick()
        if rate_gap:
            await asyncio.sleep(rate_gap)


async def _agent(app: App, stop: asyncio.Event) -> None:
    """Answers escalated cases the way a quick agent would."""
    while not stop.is_set():
        for case in await app.desk.cases():
            if case.status == "open":
                await app.desk.reply(case.number, "Bench Agent", "Hello, an agent here.")
                await app.desk.resolve(case.number, "Bench Agent", "Answered by the bench")
        await asyncio.sleep(0.05)


async def run_bench(
    settings: Settings, *, conversations: int, messages: int, rate: float | None, seed: int = 7
) -> BenchResult:
    collector = Collector()
    rng = random.Random(seed)
    latencies: list[float] = []
    async with running_app(settings, senders={CHANNEL: collector}) as app:
        scripts = {f"c{i:05d}": script(app, rng, messages) for i in range(conversations)}
        gap = conversations / rate if rate else 0.0
        stop = asyncio.Event()
        agent = asyncio.create_task(_agent(app, stop))
        with Progress(transient=True) as progress:
            task = progress.add_task("messages", total=conversations * messages)
            started = time.perf_counter()
            await asyncio.gather(*(
                _customer(app, name, lines, latencies, gap,
                          lambda: progress.advance(task))
                for name, lines in scripts.items()
            ))  # fmt: skip
            seconds = time.perf_counter() - started
        stop.set()
        await agent
        await app.engine.deliver()
        lost, duplicated, out_of_order, replies = await _check(app, collector)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = conversations * messages
    return BenchResult(
        conversations, total, round(seconds, 2), round(total / seconds, 1), round(pct(0.5), 2),
        round(pct(0.95), 2), round(pct(0.99), 2), round(peak, 1), replies, lost, duplicated,
        out_of_order, settings.database_url.split("://")[0],
    )  # fmt: skip


async def _check(app: App, collector: Collector) -> tuple[int, int, int, int]:
    """Compare what the channel received with what the database says was sent."""
    async with app.repo.transaction() as tx:
        rows = (
            await tx.session.execute(
                select(Conversation.chat_id, MessageRecord.text)
                .join(Conversation, Conversation.id == MessageRecord.conversation_id)
                .join(OutboxItem, OutboxItem.message_id == MessageRecord.id)
                .where(Conversation.channel == CHANNEL)
                .order_by(MessageRecord.id)
            )
        ).all()
    expected: dict[str, list[str]] = defaultdict(list)
    for chat_id, text in rows:
        expected[chat_id].append(text)
    lost = duplicated = out_of_order = 0
    for chat_id, want in expected.items():
        got = collector.replies.get(chat_id, [])
        lost += max(0, len(want) - len(got))
        duplicated += max(0, len(got) - len(want))
        out_of_order += int(got != want and len(got) == len(want))
    return lost, duplicated, out_of_order, sum(len(v) for v in collector.replies.values())


def bench_settings(settings: Settings, database_url: str | None, kb: Path | None) -> Settings:
    """A throw-away SQLite file unless a database is given; never the operator's data."""
    url = (
        database_url
        or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='supportbot-bench-')}/bench.db"
    )
    update: dict[str, object] = {"database_url": url}
    if kb is not None:
        update["kb_path"] = kb
    return settings.model_copy(update=update)


def as_dict(result: BenchResult) -> dict[str, object]:
    return asdict(result)
