"""Several workers on PostgreSQL: the receiving side stores messages, workers process
them, each conversation in order by one worker at a time, and a worker killed with
SIGKILL leaves nothing stuck, lost or answered twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError

from bot.app import App, running_app
from bot.health import PREFIX, Beat
from bot.messages import Message
from bot.metrics import received
from bot.settings import Settings
from bot.storage.models import Conversation, InboxItem, MessageRecord, OutboxItem
from bot.worker import Worker
from tests.conftest import REPO, make_settings
from tests.databases import Database

pytestmark = pytest.mark.only_on("postgresql", "separate workers need PostgreSQL")

LINES = ["hi", "How do I reset my password?", "no", "How do I return an item?", "yes", "5"]


def script(n: int) -> list[str]:
    return [f"{LINES[i % len(LINES)]} ({i})" if i else "hi" for i in range(n)]


def settings_for(tmp_path: Path, database: Database) -> Settings:
    return make_settings(tmp_path, database, processing="workers")


async def receive(app: App, customers: int, messages: int) -> dict[str, list[str]]:
    """Customers write at once; the receiving side stores each message durably."""
    sent = {f"c{c}": script(messages) for c in range(customers)}

    async def customer(chat: str, lines: list[str]) -> None:
        for i, text in enumerate(lines):
            msg = Message("test", chat, chat, text, message_id=str(i), user_name="Kim")
            assert await app.engine.handle_message(msg)

    await asyncio.gather(*(customer(chat, lines) for chat, lines in sent.items()))
    return sent


async def transcript(app: App) -> tuple[dict[str, list[str]], int, int]:
    """Inbound texts per chat in stored order; replies stored; outbox rows."""
    async with app.repo.transaction() as tx:
        rows = (await tx.session.execute(
            select(Conversation.chat_id, MessageRecord.text)
            .join(Conversation, Conversation.id == MessageRecord.conversation_id)
            .where(MessageRecord.direction == "in").order_by(MessageRecord.id)
        )).all()  # fmt: skip
        out = await tx.session.scalar(
            select(func.count()).select_from(MessageRecord).where(MessageRecord.direction == "out")
        )
        outbox = await tx.session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.channel == "test")
        )
    got: dict[str, list[str]] = defaultdict(list)
    for chat, text in rows:
        got[chat].append(text)
    return dict(got), int(out or 0), int(outbox or 0)


@contextlib.asynccontextmanager
async def in_background(work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    """Run ``work`` (a loop that never ends by itself) while the block runs."""
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def waiting(app: App) -> int:
    async with app.repo.transaction() as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(InboxItem)) or 0)


async def test_two_workers_keep_each_conversation_in_order(
    tmp_path: Path, database: Database
) -> None:
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver, running_app(settings) as a, \
            running_app(settings) as b:  # fmt: skip
        sent = await receive(receiver, customers=12, messages=8)
        assert await waiting(receiver) == 96
        # A redelivered platform message is stored once.
        again = Message("test", "c0", "c0", "hi", message_id="0", user_name="Kim")
        assert await receiver.engine.handle_message(again) is False
        one, two = Worker(a.engine, per_pass=3), Worker(b.engine, per_pass=3)

        async def drain(worker: Worker) -> None:
            while await waiting(receiver):
                await worker.run_once()

        await asyncio.gather(drain(one), drain(two))
        got, out, outbox = await transcript(receiver)
        assert got == sent
        assert one.stats.messages and two.stats.messages  # both had a share
        assert one.stats.messages + two.stats.messages == 96
        assert out == outbox > 0  # every reply queued once, for the receiving side to send


async def test_a_flood_split_over_two_workers_is_still_one_flood(
    tmp_path: Path, database: Database
) -> None:
    """The receiving process sees all of a customer's messages, so it judges the pace;
    the workers, which each see only their share, follow its verdict."""
    from bot.privacy.guard import SLOW_DOWN
    from bot.settings import AbuseSettings

    settings = settings_for(tmp_path, database).model_copy(
        update={"abuse": AbuseSettings(messages_per_minute=4)}
    )
    async with running_app(settings) as receiver, running_app(settings) as a, \
            running_app(settings) as b:  # fmt: skip
        one, two = Worker(a.engine), Worker(b.engine)
        for i in range(8):  # one customer, eight messages within a second
            text = "hi" if i == 0 else f"are you there? ({i})"
            msg = Message("test", "kim", "kim", text, message_id=str(i), user_name="Kim")
            assert await receiver.engine.handle_message(msg)
            assert await (one if i % 2 else two).run_once() == 1  # each sees half of them
        got, _, _ = await transcript(receiver)
        async with receiver.repo.transaction() as tx:
            replies = list((await tx.session.execute(
                select(MessageRecord.text).where(MessageRecord.direction == "out")
                .order_by(MessageRecord.id)
            )).scalars())  # fmt: skip

    assert len(got["kim"]) == 8  # every message kept
    assert one.stats.messages and two.stats.messages
    assert replies.count(SLOW_DOWN) == 1  # told once, at the fifth message
    assert not any("are you there? (6)" in r for r in replies)


async def test_an_idle_worker_is_woken_by_the_receiver_not_by_its_poll(
    tmp_path: Path, database: Database
) -> None:
    """Workers LISTEN; the receiving process NOTIFYs as it commits a message. A message
    is taken at once although the waiting worker would not look again for a minute."""
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver, running_app(settings) as a:
        worker = Worker(a.engine)
        async with in_background(worker.run(idle_poll=60.0)):
            for _ in range(600):  # up to 30 s: listening, and waiting in earnest
                if worker.stats.idle_waits >= 2:
                    break
                await asyncio.sleep(0.05)
            assert worker.stats.idle_waits >= 2
            msg = Message("test", "kim", "kim", "hi", message_id="1", user_name="Kim")
            assert await receiver.engine.handle_message(msg)
            for _ in range(600):  # up to 30 s, far less than the minute the poll would take
                if not await waiting(receiver):
                    break
                await asyncio.sleep(0.05)
            assert await waiting(receiver) == 0
            assert worker.stats.messages == 1


async def test_the_receiving_process_hears_at_once_that_replies_are_queued(
    tmp_path: Path, database: Database
) -> None:
    """A worker's pass NOTIFYs; the receiving process (Telegram's delivery loop, Slack's
    pump) is kicked then, not at its next poll, a minute away here."""
    from bot.notify import OUTBOX, kick_on_notify

    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver, running_app(settings) as a:
        kicked = asyncio.Event()
        async with in_background(
            kick_on_notify(receiver.repo.engine, OUTBOX, kicked.set, poll=60.0)
        ):
            async with asyncio.timeout(30):
                await kicked.wait()  # the one look it takes when it starts listening
            kicked.clear()
            msg = Message("test", "kim", "kim", "hi", message_id="1", user_name="Kim")
            assert await receiver.engine.handle_message(msg)
            assert await Worker(a.engine).run_once() == 1
            async with asyncio.timeout(30):  # far less than the minute of the poll
                await kicked.wait()


async def test_a_lease_ends_with_the_worker_that_held_it(
    tmp_path: Path, database: Database
) -> None:
    """A worker stuck (or dead) while holding a conversation keeps only that conversation
    waiting; when its connection goes, as when its process is killed, the next pass takes
    the conversation."""
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver, running_app(settings) as a:
        sent = await receive(receiver, customers=3, messages=2)
        stuck = await asyncpg.connect(database.url.replace("postgresql+asyncpg", "postgresql"))
        await stuck.execute("BEGIN")
        await stuck.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "test\x1fc1")
        worker = Worker(a.engine)
        assert await worker.run_once() == 4  # c0 and c2, not c1
        assert await worker.run_once() == 0
        stuck.terminate()  # the connection drops: PostgreSQL ends the lease
        for _ in range(100):
            if await worker.run_once():
                break
            await asyncio.sleep(0.05)
        got, _, _ = await transcript(receiver)
        assert got == sent


async def test_a_frozen_workers_lease_expires_after_the_idle_limit(
    tmp_path: Path, database: Database
) -> None:
    """A worker frozen mid-pass (stopped, swapping, in a debugger) keeps its connection
    open, so only the server can end its lease: after ``idle_transaction_seconds`` it ends
    the transaction, and another worker takes the conversations it held."""
    settings = make_settings(tmp_path, database, processing="workers",
                             idle_transaction_seconds=1)  # fmt: skip
    async with running_app(settings) as receiver, running_app(settings) as a:
        sent = await receive(receiver, customers=3, messages=2)
        frozen = await a.repo.engine.connect()  # a pass that took c1, then froze
        lock = sql_text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
        await frozen.execute(lock, {"key": "test\x1fc1"})
        worker = Worker(a.engine)
        assert await worker.run_once() == 4  # c0 and c2, not c1
        for _ in range(100):  # the server ends the frozen transaction after 1 s
            await asyncio.sleep(0.05)
            if await worker.run_once():
                break
        got, _, _ = await transcript(receiver)
        assert got == sent
        with contextlib.suppress(DBAPIError):
            await frozen.close()  # its server side is gone


def start_worker(
    database: Database, log: BinaryIO, **extra: str
) -> asyncio.Future[asyncio.subprocess.Process]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update(
        SUPPORTBOT_DATABASE_URL=database.url,
        SUPPORTBOT_PROCESSING="workers",
        SUPPORTBOT_VERIFICATION__ORDERS_FILE=str(REPO / "config" / "sample_orders.csv"),
        **extra,
    )
    return asyncio.ensure_future(asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "worker", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=log,
    ))  # fmt: skip


async def test_a_worker_killed_mid_run_loses_and_repeats_nothing(
    tmp_path: Path, database: Database
) -> None:
    """Two worker processes; one is killed with SIGKILL while busy and started again.
    Every message is processed exactly once and in order per conversation."""
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver:
        sent = await receive(receiver, customers=60, messages=40)  # 2,400 messages
        total = await waiting(receiver)
        assert total == 2400
        log_path = tmp_path / "workers.log"
        log = log_path.open("ab")  # a file: a full pipe would block the workers
        first, second = await start_worker(database, log), await start_worker(database, log)
        try:
            for _ in range(1200):  # until a good part is done
                if await waiting(receiver) < total * 0.7:
                    break
                await asyncio.sleep(0.1)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            killed = first.pid
            assert 0 < await waiting(receiver) < total, log_path.read_text()[-2000:]
            first = await start_worker(database, log)
            for _ in range(1800):
                if not await waiting(receiver):
                    break
                await asyncio.sleep(0.1)
            assert await waiting(receiver) == 0, log_path.read_text()[-2000:]
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.terminate()
                    await process.wait()
            log.close()
        got, out, outbox = await transcript(receiver)
        lost = sum(max(0, len(sent[c]) - len(got.get(c, []))) for c in sent)
        duplicated = sum(max(0, len(got.get(c, [])) - len(sent[c])) for c in sent)
        out_of_order = sum(got.get(c) != sent[c] for c in sent)
        assert (lost, duplicated, out_of_order) == (0, 0, 0)
        assert out == outbox  # each reply queued exactly once
        async with receiver.repo.transaction() as tx:  # the workers said they were alive
            beat = await tx.cursor_row(PREFIX + "worker")
        assert beat is not None
        assert Beat.decode("worker", *beat).pid in {killed, first.pid, second.pid}


async def test_a_turn_that_fails_leaves_the_others_of_its_pass_as_if_alone(
    tmp_path: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one customer's turn rolls the pass back and its messages are replayed one
    by one: the others are answered from where their conversations stood before the
    pass (the objects kept in memory are put back), exactly as a customer alone is."""
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver, running_app(settings) as app:
        understand = app.engine._understand

        async def buggy(turn: Any, msg: Message, *args: Any) -> Any:
            if msg.chat_id == "bug":
                raise RuntimeError("a bug in this turn")
            return await understand(turn, msg, *args)

        monkeypatch.setattr(app.engine, "_understand", buggy)
        worker = Worker(app.engine, per_pass=10)
        for chat in ("anna", "bug"):  # one pass: Anna's turn first, then the failing one
            await receiver.engine.handle_message(Message("test", chat, chat, "hi", message_id="1",
                                                         user_name="Kim"))  # fmt: skip
        await worker.run_once()
        await receiver.engine.handle_message(
            Message("test", "bob", "bob", "hi", message_id="1", user_name="Kim")
        )
        await worker.run_once()
        async with receiver.repo.transaction() as tx:
            rows = (await tx.session.execute(
                select(OutboxItem.address, OutboxItem.payload).where(OutboxItem.channel == "test")
                .order_by(OutboxItem.id)
            )).all()  # fmt: skip
            states = dict((await tx.session.execute(
                select(Conversation.chat_id, Conversation.state)
            )).all())  # fmt: skip
    replies: dict[str, list[str]] = defaultdict(list)
    for address, payload in rows:
        replies[address].append(payload["text"])
    assert replies["anna"] == replies["bob"] != []  # greeted once, like Bob alone
    assert states["anna"] == states["bob"]
    assert "bug" not in replies  # kept in the transcript, unanswered


async def test_a_worker_shows_prometheus_its_work_on_its_health_port(
    tmp_path: Path, database: Database
) -> None:
    """``health.port``: a worker opens no port of its own, so it listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(tmp_path, database)
    async with running_app(settings) as receiver:
        await receive(receiver, customers=3, messages=2)
        with (tmp_path / "worker.log").open("ab") as log:
            worker = await start_worker(database, log, SUPPORTBOT_HEALTH__PORT=str(port))
            try:
                for _ in range(600):
                    if not await waiting(receiver):
                        break
                    await asyncio.sleep(0.1)
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        assert response.status == 200
                        assert (await response.json())["role"] == "worker"
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        text = await response.text()
            finally:
                worker.terminate()
                await worker.wait()
    figures = dict(line.rsplit(" ", 1) for line in text.splitlines() if line[:1] != "#")
    assert figures["supportbot_worker_messages_total"] == "6.0"
    assert float(figures["supportbot_worker_passes_total"]) >= 1
    assert "supportbot_commit_queue" not in figures  # a worker has no group commit


async def test_the_receivers_metrics_count_what_went_into_the_inbox(
    tmp_path: Path, database: Database
) -> None:
    """With separate workers the receiving process commits to the inbox: its
    ``/metrics`` count those commits, not the engine's (unused) own."""
    async with running_app(settings_for(tmp_path, database)) as receiver:
        await receive(receiver, customers=2, messages=3)

        commits = received(receiver.engine)
        assert (commits.items, commits.waiting) == (6, 0)
        assert receiver.engine.inbound.items == 0
