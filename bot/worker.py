"""Workers: processing the inbox on PostgreSQL, several processes at once, in order.

Each pass is one transaction. A worker lists the conversations with waiting messages
(oldest first), takes a transaction-scoped advisory lock on each one it can
(``pg_try_advisory_xact_lock``: a conversation another worker holds is skipped, never
waited for), reads those conversations' waiting messages in arrival order, runs each
through the engine exactly as a single process would, deletes them from the inbox and
commits. So one conversation's messages are handled in order by one worker at a time,
while different conversations run on different workers in parallel.

The lock is the lease, and it expires with the holder: a worker that dies (even by
SIGKILL) drops its connection, PostgreSQL rolls its transaction back and releases its
locks, and the messages it was processing are still in the inbox for the next worker.
Nothing it did is half-done, so nothing is lost or answered twice. Replies go to the
outbox, which the receiving process sends (``supportbot serve``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, tuple_

from bot import loggers
from bot.engine import Engine, batch_cases, first_users
from bot.errors import DatabaseUnavailable, SupportBotError
from bot.inbox import Waiting, waiting_from_json
from bot.notify import INBOX, OUTBOX, Wakeup, notify
from bot.storage.models import InboxItem
from bot.storage.repository import Tx

IDLE_SLEEP = 0.05  # seconds between looks at an empty inbox when not listening
IDLE_POLL = 1.0  # ... when listening: NOTIFY wakes the worker, this is the safety net
CONVERSATIONS_PER_PASS = 100
MESSAGES_PER_PASS = 200  # one transaction's worth; the rest waits for the next pass
_TRY_LOCKS = text(
    "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
    "WHERE pg_try_advisory_xact_lock(hashtextextended(k, 0)) LIMIT :n"
)


@dataclass
class WorkerStats:
    passes: int = 0
    messages: int = 0
    idle_waits: int = 0  # times it found nothing and waited


class Worker:
    def __init__(self, engine: Engine, *, per_pass: int = CONVERSATIONS_PER_PASS) -> None:
        if engine.repo.engine.dialect.name != "postgresql":
            raise DatabaseUnavailable("separate workers need PostgreSQL (SQLite has one writer)")
        self.engine = engine
        self.per_pass = per_pass
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.stats = WorkerStats()

    async def run(self, *, idle_poll: float = IDLE_POLL) -> None:
        """Until cancelled: process what is waiting; when nothing is, wait for the
        receiving process's NOTIFY (``bot.notify``), or poll if it cannot be heard."""
        loggers.engine.info("worker %s started", self.name)
        wakeup = Wakeup(self.engine.repo.engine, INBOX)
        try:
            while True:
                try:
                    done = await self.run_once()
                except SupportBotError as exc:  # e.g. the database restarting: try again
                    loggers.engine.warning("worker %s: pass postponed: %s", self.name, exc)
                    done = 0
                if not done:
                    self.stats.idle_waits += 1
                    await wakeup.wait(idle_poll if wakeup.listening else IDLE_SLEEP)
        finally:
            await wakeup.close()

    async def run_once(self) -> int:
        """One pass: returns how many messages were processed."""
        async with self.engine.repo.transaction() as tx:
            session = tx.session
            first = func.min(InboxItem.id)
            candidates = await session.execute(
                select(InboxItem.channel, InboxItem.chat_id)
                .group_by(InboxItem.channel, InboxItem.chat_id)
                .order_by(first)
                .limit(self.per_pass * 4)
            )
            keys = [f"{channel}\x1f{chat}" for channel, chat in candidates.all()]
            if not keys:
                return 0
            mine = list(
                (await session.execute(_TRY_LOCKS, {"keys": keys, "n": self.per_pass})).scalars()
            )
            if not mine:
                return 0
            chats = [tuple(k.split("\x1f", 1)) for k in mine]
            # Read after locking: anything another worker committed for these is gone.
            items = list(
                (
                    await session.execute(
                        select(InboxItem.id, InboxItem.message)
                        .where(tuple_(InboxItem.channel, InboxItem.chat_id).in_(chats))
                        .order_by(InboxItem.id)
                        .limit(MESSAGES_PER_PASS)  # a prefix in arrival order: order kept
                    )
                ).all()
            )
            if not items:
                return 0
            messages = [(item_id, waiting_from_json(data)) for item_id, data in items]
            users = first_users([w.msg for _, w in messages])
            await tx.prefetch(chats, [k for _, w in messages if (k := w.msg.dedupe_key)],
                              users=users, now=self.engine.ctx.now())  # fmt: skip
            await tx.lock_cases(batch_cases(tx))
            try:
                async with tx.savepoint():  # a bug in one turn: see below
                    with session.no_autoflush:
                        for _, (msg, pace) in messages:
                            await self.engine.receive(tx, msg, pace)
            except DatabaseUnavailable:
                raise
            except Exception:
                loggers.engine.exception("worker %s: a pass failed; one by one", self.name)
                await self._one_by_one(tx, messages)
            await session.execute(delete(InboxItem).where(InboxItem.id.in_([i for i, _ in items])))
            await session.execute(notify(OUTBOX))  # the receiving process sends at the commit
        self.stats.passes += 1
        self.stats.messages += len(items)
        return len(items)

    async def _one_by_one(self, tx: Tx, messages: list[tuple[int, Waiting]]) -> None:
        """Each message in its own savepoint. One that still fails (a bug) is kept in the
        transcript unanswered, never dropped, and its conversation goes on."""
        for _, (msg, pace) in messages:
            try:
                async with tx.savepoint():
                    await self.engine.receive(tx, msg, pace)
            except DatabaseUnavailable:
                raise
            except Exception:
                loggers.engine.exception("worker %s: message kept unanswered", self.name)
                conv, _ = await tx.conversation(
                    msg.channel, msg.chat_id, user_id=msg.user_id, user_name=msg.user_name,
                    now=self.engine.ctx.now(),
                )  # fmt: skip
                await tx.record_inbound(
                    conv.id, None, msg.text, dedupe_key=msg.dedupe_key, sender="customer",
                    author=None, internal=False, now=self.engine.ctx.now(),
                )  # fmt: skip
