"""SQLite through bot.storage.sqlite_driver: a statement that may wait for the write lock
(BEGIN, COMMIT, anything outside a write transaction) costs one trip to aiosqlite's
thread; inside a write transaction, which holds the lock, statements run in the event
loop's thread and cost none. Rows, counts and errors are the same either way, and
nothing else changes for the code above it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import create_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@contextmanager
def hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call that aiosqlite runs in its thread, by name."""
    seen: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", type(fn).__name__))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield seen


async def test_a_write_transaction_hops_to_begin_and_to_commit_only(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hops(monkeypatch) as seen:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('a'), ('b'), ('c')"))
            rows = (await conn.execute(text("SELECT id, body FROM notes ORDER BY id"))).all()
            inside = list(seen)
        async with engine.begin() as conn:  # the next transaction begins with a hop again
            await conn.execute(text("DELETE FROM notes WHERE body = 'b'"))
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
    assert inside == ["_execute"]  # BEGIN IMMEDIATE; the statements after it took no trip
    assert seen == ["_execute", "commit", "_execute", "commit"]


async def test_insert_returning_update_counts_and_executemany(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.begin() as conn:
        with hops(monkeypatch) as seen:
            new = await conn.execute(text("INSERT INTO notes (body) VALUES ('x') RETURNING id"))
            assert new.scalar_one() == 1
            await conn.execute(
                text("INSERT INTO notes (body) VALUES (:body)"), [{"body": "y"}, {"body": "z"}]
            )
            changed = await conn.execute(text("UPDATE notes SET body = body || '!'"))
            trips = list(seen)
        assert changed.rowcount == 3
        assert trips == []
        bodies = (await conn.execute(text("SELECT body FROM notes ORDER BY id"))).scalars()
        assert list(bodies) == ["x!", "y!", "z!"]


async def test_waiting_for_another_process_s_lock_never_blocks_the_event_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "hops.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writes
    ticks = 0

    async def clock() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('later')"))

    ticking = asyncio.create_task(clock())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # waiting for the lock...
    assert ticks >= 10  # ...in aiosqlite's thread, while the loop went on
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    ticking.cancel()
    other.close()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT body FROM notes"))).scalar_one() == "later"


async def test_errors_arrive_as_sqlalchemy_errors_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('same')"))
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO notes (body) VALUES ('same')"))
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM notes"))).scalar_one()
    assert count == 1


async def test_the_pragmas_and_begin_immediate_still_apply(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
        keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert (mode, keys) == ("wal", 1)
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        assert raw.driver_connection.in_transaction  # BEGIN IMMEDIATE ran on first use
