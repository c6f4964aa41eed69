"""Reading the KPI report's statements from one snapshot of the database, in parallel.

A year of records means table scans of a few hundred milliseconds each, and a report
runs a dozen of them; one connection would run them one after another on one core. So
the report opens a few read connections that all see the *same* snapshot, and each
takes the next statement until none is left (the costliest are listed first).

- SQLite (WAL): read-only connections with a deferred ``BEGIN``, whose snapshot is fixed
  by their first read. To make every reader's snapshot the same, a separate connection
  holds the write lock (``BEGIN IMMEDIATE``) for the few milliseconds in which the
  readers take theirs: no commit can land in between. The lock is released before any
  statement of the report runs, so the bot keeps writing while the report reads. Python's
  sqlite3 releases the GIL while SQLite works, so the readers really run side by side.
- PostgreSQL: ``REPEATABLE READ READ ONLY`` transactions; the first exports its snapshot
  (``pg_export_snapshot``) and the others adopt it (``SET TRANSACTION SNAPSHOT``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, NamedTuple

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import DatabaseUnavailable
from bot.storage.db import describe_operational_error

Row = dict[str, Any]
READERS = 2  # the machines we measure on have two cores; more readers only queue


class Query(NamedTuple):
    """One statement of the report and the output columns that key its rows."""

    stmt: Any
    key: tuple[str, ...]


@asynccontextmanager
async def snapshot(
    engine: AsyncEngine, readers: int = READERS
) -> AsyncIterator[list[AsyncConnection]]:
    """``readers`` connections reading one consistent state of the database, without the
    write lock that the bot's BEGIN IMMEDIATE would hold while a year-long report runs."""
    sqlite = engine.dialect.name == "sqlite"
    args = {"isolation_level": None, "timeout": 5}  # no implicit BEGIN: ours is deferred
    source = create_async_engine(engine.url, connect_args=args) if sqlite else engine
    try:
        async with AsyncExitStack() as stack:
            conns = [await stack.enter_async_context(source.connect()) for _ in range(readers)]
            await (_same_sqlite_snapshot(source, conns) if sqlite else _same_pg_snapshot(conns))
            yield conns
    except (DBAPIError, OSError) as exc:  # asyncpg: a lost server is no DatabaseError
        raise DatabaseUnavailable(describe_operational_error(exc, engine)) from exc
    finally:
        if sqlite:
            await source.dispose()


async def _same_sqlite_snapshot(source: AsyncEngine, conns: list[AsyncConnection]) -> None:
    async with source.connect() as lock:
        await lock.exec_driver_sql("BEGIN IMMEDIATE")  # no commit until every reader has read
        try:
            for conn in conns:
                for sql in ("PRAGMA query_only=ON", "BEGIN", "SELECT count(*) FROM sqlite_master"):
                    await conn.exec_driver_sql(sql)
        finally:
            await lock.exec_driver_sql("ROLLBACK")


async def _same_pg_snapshot(conns: list[AsyncConnection]) -> None:
    first, *others = conns
    for conn in conns:
        await conn.execution_options(isolation_level="REPEATABLE READ")
    exported = (await first.exec_driver_sql("SELECT pg_export_snapshot()")).scalar_one()
    for conn in others:  # the identifier comes from the server, never from input
        await conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{exported}'")


async def run(
    conns: Sequence[AsyncConnection], queries: dict[str, Query]
) -> dict[str, dict[Any, Row]]:
    """Every query's rows keyed by its key columns; each connection takes the next query
    as soon as it is free. A failure cancels the rest (the report is all or nothing)."""
    todo = list(queries.items())
    out: dict[str, dict[Any, Row]] = {}

    async def drain(conn: AsyncConnection) -> None:
        while todo:
            name, query = todo.pop(0)
            out[name] = await rows(conn, query)

    async with asyncio.TaskGroup() as group:
        for conn in conns:
            group.create_task(drain(conn))
    return out


async def rows(conn: AsyncConnection, query: Query) -> dict[Any, Row]:
    """The rows of one query, keyed by its key column (a tuple of them when several)."""
    found = [dict(r._mapping) for r in (await conn.execute(query.stmt)).all()]
    key = query.key
    return {(r[key[0]] if len(key) == 1 else tuple(r[k] for k in key)): r for r in found}
