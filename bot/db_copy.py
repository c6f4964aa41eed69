"""``supportbot db copy --to URL``: move everything from the configured database to another,
e.g. from the embedded SQLite file to PostgreSQL when one process is no longer enough.

    supportbot db copy --to postgresql+asyncpg://support@db.internal/support

The target is upgraded to the newest schema first and must be empty (a copy never
merges into, or overwrites, a database in use). Tables are copied in foreign-key order,
in chunks, inside one transaction on the target: a copy that fails leaves the target as
empty as it was. Ids are kept, so links between records, case numbers and transcripts
stay exactly as they were; PostgreSQL's id sequences are then moved past the copied ids.
Each table's row count is compared at the end. Stop the bot first: messages written
during the copy would not be in it. Status 0 on success; a bad or non-empty target ends
with one line and status 2, an unreachable database with one line and status 1 (the
CLI's error boundary).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.errors import ConfigError, DatabaseUnavailable
from bot.settings import DATABASE_SCHEMES, Settings
from bot.storage.db import (
    HEAD,
    create_engine,
    current_revision,
    describe_operational_error,
    is_sqlite,
    safe_url,
    upgrade,
)
from bot.storage.models import Base

CHUNK = 5_000  # rows read and inserted at a time: bounded memory on any table size
KEEP_EMPTY = {"alembic_version"}  # written by the upgrade itself


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


async def copy_database(
    settings: Settings, target_url: str, progress: Callable[[Copied], None] = lambda _: None
) -> list[Copied]:
    """Copy every table of the configured database into ``target_url`` (see above)."""
    _check_urls(settings.database_url, target_url)
    source = create_engine(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    target = create_engine(target_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        if is_sqlite(settings.database_url):
            await upgrade(source)  # as the bot's own start would
        elif await current_revision(source) != HEAD:
            raise ConfigError("the configured database is not at the newest schema: "
                              "run `supportbot db upgrade` first")  # fmt: skip
        await upgrade(target)
        try:
            async with source.connect() as reader, target.begin() as writer:
                await _require_empty(writer, target_url)
                done = []
                for table in Base.metadata.sorted_tables:  # parents before children
                    copied = Copied(table.name, await _copy_table(reader, writer, table))
                    await _check_count(writer, table, copied.rows)
                    progress(copied)
                    done.append(copied)
                await _move_sequences(writer, target)
                return done
        except (DBAPIError, OSError) as exc:
            raise DatabaseUnavailable(describe_operational_error(exc, target)) from exc
    finally:
        await source.dispose()
        await target.dispose()


def _check_urls(source: str, target: str) -> None:
    try:
        same = make_url(source) == make_url(target)
    except ArgumentError:
        msg = "--to is not a database URL (e.g. postgresql+asyncpg://host/db)"
        raise ConfigError(msg) from None
    if same:
        raise ConfigError("--to names the configured database itself; give another one")
    if not target.startswith(DATABASE_SCHEMES):
        raise ConfigError(f"--to must start with {' or '.join(DATABASE_SCHEMES)}")


async def _require_empty(writer: AsyncConnection, url: str) -> None:
    for table in Base.metadata.sorted_tables:
        if table.name in KEEP_EMPTY:
            continue
        if (await writer.execute(select(func.count()).select_from(table))).scalar_one():
            raise ConfigError(
                f"the database {safe_url(url)} already has records ({table.name}); "
                "db copy only fills an empty database"
            )


async def _copy_table(reader: AsyncConnection, writer: AsyncConnection, table: Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    rows = 0
    stream = await reader.stream(select(table).order_by(*order))
    async for chunk in stream.mappings().partitions(CHUNK):
        await writer.execute(insert(table), [dict(row) for row in chunk])
        rows += len(chunk)
    return rows


async def _check_count(writer: AsyncConnection, table: Table, expected: int) -> None:
    found = (await writer.execute(select(func.count()).select_from(table))).scalar_one()
    if found != expected:
        raise DatabaseUnavailable(f"{table.name}: copied {expected} rows but found {found}")


async def _move_sequences(writer: AsyncConnection, target: AsyncEngine) -> None:
    """PostgreSQL hands out ids from sequences that the copied ids did not advance."""
    if target.dialect.name != "postgresql":
        return  # SQLite takes the next id from the table itself
    for table in Base.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is None:
            continue
        name, key = table.name, column.name  # our own schema's names, never input
        await writer.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', '{key}'), "
            f"COALESCE(MAX({key}), 1), MAX({key}) IS NOT NULL) FROM {name}"
        ))  # fmt: skip
