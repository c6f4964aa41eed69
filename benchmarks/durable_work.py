"""The minimum durable work per inbound message, three ways (for
``benchmarks.machine_facts``): issue 10's lower bound on what any design pays.

Per message: dedupe the update id (inbox), load the conversation, store the message
and the reply, update the state, queue the reply (outbox), commit; then mark the reply
sent, in a transaction of its own as the channel's answer comes later. With several
messages per transaction each step is one set statement for all of them.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import CreateTable

CONVERSATIONS = 1_000
REPLY = "Here is how to track your order: ..."

metadata = MetaData()
inbox = Table(
    "inbox", metadata, Column("update_id", Integer, primary_key=True, autoincrement=False)
)
conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", String, unique=True, nullable=False),
    Column("state", String),
)
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", Integer, nullable=False),
    Column("direction", String, nullable=False),
    Column("text", String, nullable=False),
)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", String, nullable=False),
    Column("text", String, nullable=False),
    Column("sent_at", Float),
)


def _ddl(dialect: Dialect) -> str:
    """The tables above as ``CREATE TABLE`` statements in ``dialect``'s SQL."""
    return ";\n".join(str(CreateTable(t).compile(dialect=dialect)) for t in metadata.sorted_tables)


def _fresh_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(_ddl(make_url("sqlite://").get_dialect()()))
    db.executemany(
        "INSERT INTO conversations (chat_id, state) VALUES (?, 'new')",
        [(str(n),) for n in range(CONVERSATIONS)],
    )
    db.commit()
    db.close()
    return path


def _sqlite3_batch(db: sqlite3.Connection, first: int, count: int) -> None:
    cursor = db.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    queued = []
    for uid in range(first, first + count):
        chat = str(uid % CONVERSATIONS)
        if (
            cursor.execute(
                "INSERT INTO inbox VALUES (?) ON CONFLICT DO NOTHING RETURNING update_id", (uid,)
            ).fetchone()
            is None
        ):
            continue
        conversation, _state = cursor.execute(
            "SELECT id, state FROM conversations WHERE chat_id = ?", (chat,)
        ).fetchone()
        cursor.executemany(
            "INSERT INTO messages (conversation_id, direction, text) VALUES (?, ?, ?)",
            [(conversation, "in", "where is my order"), (conversation, "out", REPLY)],
        )
        cursor.execute("UPDATE conversations SET state = 'answered' WHERE id = ?", (conversation,))
        queued.append(
            cursor.execute(
                "INSERT INTO outbox (chat_id, text) VALUES (?, ?) RETURNING id", (chat, REPLY)
            ).fetchone()[0]
        )
    cursor.execute("COMMIT")
    marks = ",".join("?" * len(queued))
    db.execute(f"UPDATE outbox SET sent_at = ? WHERE id IN ({marks})", (time.time(), *queued))
    db.commit()


async def sqlite3_rate(folder: Path, seconds: float, per_transaction: int) -> float:
    """Messages/s with the standard library's ``sqlite3`` (no event loop involved)."""
    db = sqlite3.connect(_fresh_file(folder, f"sqlite3-{per_transaction}"), isolation_level=None)
    db.execute("PRAGMA synchronous=FULL")
    done = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            _sqlite3_batch(db, done, per_transaction)
            done += per_transaction
        return done / (time.perf_counter() - started)
    finally:
        db.close()


async def core_rate(folder: Path, seconds: float, per_transaction: int) -> float:
    """Messages/s with SQLAlchemy Core on aiosqlite: set statements with RETURNING."""
    path = _fresh_file(folder, f"core-{per_transaction}")
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")

    mark = update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    done = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            ids = range(done, done + per_transaction)
            async with engine.begin() as conn:
                fresh = await conn.execute(
                    sqlite_insert(inbox).on_conflict_do_nothing().returning(inbox.c.update_id),
                    [{"update_id": uid} for uid in ids],
                )
                chats = [str(uid % CONVERSATIONS) for uid in sorted(fresh.scalars())]
                found = await conn.execute(
                    select(conversations.c.id, conversations.c.chat_id).where(
                        conversations.c.chat_id.in_(chats)
                    )
                )
                by_chat = {chat: cid for cid, chat in found}
                convs = [by_chat[chat] for chat in chats]
                await conn.execute(
                    insert(messages),
                    [{"conversation_id": c, "direction": "in", "text": "where is my order"}
                     for c in convs]
                    + [{"conversation_id": c, "direction": "out", "text": REPLY} for c in convs],
                )  # fmt: skip
                await conn.execute(
                    update(conversations)
                    .where(conversations.c.id.in_(convs))
                    .values(state="answered")
                )
                queued = await conn.execute(
                    insert(outbox).returning(outbox.c.id),
                    [{"chat_id": chat, "text": REPLY} for chat in chats],
                )
                outbox_ids = list(queued.scalars())
            async with engine.begin() as conn:
                await conn.execute(mark.values(sent_at=time.time()), {"ids": outbox_ids})
            done += per_transaction
        return done / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def asyncpg_rate(url: str, seconds: float, connections: int) -> float:
    """Messages/s with raw asyncpg, ``connections`` at once, one transaction each."""
    import asyncpg  # type: ignore[import-untyped]

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    schema = f"machine_facts_{os.getpid()}"
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    ddl = _ddl(make_url("postgresql://").get_dialect()())
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}; {ddl}")
            await conn.executemany(
                f"INSERT INTO {schema}.conversations (chat_id, state) VALUES ($1, 'new')",
                [(str(n),) for n in range(CONVERSATIONS)],
            )
        counter = iter(range(10**12))
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def worker() -> int:
            done = 0
            async with pool.acquire() as conn:
                await conn.execute(f"SET search_path TO {schema}")
                while time.perf_counter() < deadline:
                    uid = next(counter)
                    chat = str(uid % CONVERSATIONS)
                    async with conn.transaction():
                        if (
                            await conn.fetchval(
                                "INSERT INTO inbox VALUES ($1) ON CONFLICT DO NOTHING "
                                "RETURNING update_id",
                                uid,
                            )
                            is None
                        ):
                            continue
                        conversation = await conn.fetchval(
                            "SELECT id FROM conversations WHERE chat_id = $1 FOR UPDATE", chat
                        )
                        await conn.executemany(
                            "INSERT INTO messages (conversation_id, direction, text) "
                            "VALUES ($1, $2, $3)",
                            [(conversation, "in", "where is my order"),
                             (conversation, "out", REPLY)],
                        )  # fmt: skip
                        await conn.execute(
                            "UPDATE conversations SET state = 'answered' WHERE id = $1",
                            conversation,
                        )
                        queued = await conn.fetchval(
                            "INSERT INTO outbox (chat_id, text) VALUES ($1, $2) RETURNING id",
                            chat,
                            REPLY,
                        )
                    await conn.execute(
                        "UPDATE outbox SET sent_at = $1 WHERE id = $2", time.time(), queued
                    )
                    done += 1
            return done

        counts = await asyncio.gather(*(worker() for _ in range(connections)))
        return sum(counts) / (time.perf_counter() - started)
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()
