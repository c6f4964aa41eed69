"""Times in the database: aware UTC in, aware UTC out, stored as each engine keeps them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.db import create_engine, upgrade
from bot.storage.models import Customer
from tests.databases import Database

BERLIN = timezone(timedelta(hours=1))


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(url)
    await upgrade(engine)
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


async def add_customer(conn: AsyncConnection, name: str, created_at: datetime) -> None:
    await conn.execute(insert(Customer), {"display_name": name, "created_at": created_at})


async def times(conn: AsyncConnection) -> dict[str, datetime]:
    rows = await conn.execute(select(Customer.display_name, Customer.created_at))
    return {name: at for name, at in rows}


async def test_times_come_back_aware_and_in_utc(database: Database) -> None:
    async with connection(database.url) as conn:
        await add_customer(conn, "anna", datetime(2026, 11, 29, 20, 4, 48, 123456, tzinfo=BERLIN))
        await add_customer(conn, "bob", datetime(2026, 1, 1, tzinfo=UTC))
        read = await times(conn)
        cutoff = datetime(2026, 11, 29, 19, 4, 48, tzinfo=UTC)
        later = await conn.scalars(
            select(Customer.display_name).where(Customer.created_at > cutoff)
        )
        assert later.all() == ["anna"]  # compared in the database, as stored
    assert read == {"anna": datetime(2026, 11, 29, 19, 4, 48, 123456, tzinfo=UTC),
                    "bob": datetime(2026, 1, 1, tzinfo=UTC)}  # fmt: skip
    assert read["anna"].tzinfo is UTC


async def test_a_naive_time_is_refused(database: Database) -> None:
    async with connection(database.url) as conn:
        with pytest.raises(StatementError, match="naive datetime"):
            await add_customer(conn, "anna", datetime(2026, 1, 1))


async def test_sqlite_writes_the_text_sqlalchemy_writes_and_reads_what_others_wrote(
    tmp_path: Path,
) -> None:
    """What is written now is byte for byte what SQLAlchemy's DATETIME wrote, and times
    written by SQLite itself (no microseconds) read back."""
    async with connection(f"sqlite+aiosqlite:///{tmp_path / 't.db'}") as conn:
        await add_customer(conn, "anna", datetime(2026, 3, 1, tzinfo=UTC))
        await conn.execute(text("INSERT INTO customers (display_name, created_at) "
                                "VALUES ('bob', '2026-03-02 08:09:10')"))  # fmt: skip
        stored = await conn.scalar(text("SELECT created_at FROM customers WHERE id = 1"))
        read = await times(conn)
    assert stored == "2026-03-01 00:00:00.000000"
    assert read == {"anna": datetime(2026, 3, 1, tzinfo=UTC),
                    "bob": datetime(2026, 3, 2, 8, 9, 10, tzinfo=UTC)}  # fmt: skip


async def test_a_time_rendered_into_sql_text_matches_the_stored_one(tmp_path: Path) -> None:
    """``literal_binds`` (SQL printed for a person, or run as text) writes the same text."""
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    query = select(Customer.display_name).where(Customer.created_at == moment)
    printed = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert "'2026-03-01 09:30:00.000000'" in printed
    async with connection(f"sqlite+aiosqlite:///{tmp_path / 't.db'}") as conn:
        await add_customer(conn, "anna", moment)
        found = (await conn.execute(text(printed))).scalars().all()
    assert found == ["anna"]
