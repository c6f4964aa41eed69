"""``supportbot db current``: the migration a database is at, and whether it is the head.

    Database: postgresql+asyncpg://bot:***@db.internal/support
    Revision: 0003 (supervision: routing groups, SLA clocks, agents, contacts, NPS)
    Head:     0004 (privacy: append-only audit events, erased customers)
    Status:   behind the head: run `supportbot db upgrade`

It only reads: a SQLite file that does not exist is reported, not created, and nothing is
upgraded. The database is named without its password. Status 0 whenever the revision
could be read (whatever it is); a database that cannot be read (no such file, no server,
refused, unknown host, no answer within the timeout, not a database) ends with one line
and status 1, through the CLI's error boundary.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from bot.errors import DatabaseUnavailable
from bot.settings import Settings
from bot.storage.db import (
    create_engine,
    current_revision,
    head_revision,
    is_sqlite,
    migration_scripts,
    safe_url,
)

CONNECT_TIMEOUT_S = 15.0
UPGRADE = "run `supportbot db upgrade`"


@dataclass(frozen=True)
class SchemaStatus:
    database: str  # the URL without its password
    current: str | None  # None: no schema at all
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def state(self) -> str:
        if self.current is None:
            return f"no schema: {UPGRADE}"
        if self.at_head:
            return "up to date (at the head)"
        if not _known(self.current):
            return "ahead of this version of supportbot (upgraded by a newer one)"
        return f"behind the head: {UPGRADE}"

    def lines(self) -> list[str]:
        return [
            f"Database: {self.database}",
            f"Revision: {_named(self.current) if self.current else 'none'}",
            f"Head:     {_named(self.head)}",
            f"Status:   {self.state}",
        ]


async def schema_status(settings: Settings) -> SchemaStatus:
    """Read the revision of the configured database (raises DatabaseUnavailable)."""
    url = settings.database_url
    shown = safe_url(url)
    _require_sqlite_file(url)
    engine = create_engine(url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            current = await current_revision(engine)
    except TimeoutError:
        msg = f"the database {shown} did not answer within {CONNECT_TIMEOUT_S:g} s"
        raise DatabaseUnavailable(msg) from None
    finally:
        await engine.dispose()
    return SchemaStatus(shown, current, head_revision())


def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and whether it is the newest (the head)."""
    from bot.cli import run, settings_from

    settings = settings_from(ctx)
    for line in run(schema_status(settings)).lines():
        typer.echo(line)


def db_copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help="The database to fill (empty; upgraded first).")],
) -> None:
    """Copy every record to another, empty database (e.g. SQLite to PostgreSQL)."""
    from bot.cli import run, settings_from
    from bot.db_copy import Copied, copy_database

    settings = settings_from(ctx)

    def progress(copied: Copied) -> None:
        typer.echo(f"{copied.table:<20} {copied.rows:>12,} rows")

    done = run(copy_database(settings, to, progress))
    typer.echo(f"Copied {sum(c.rows for c in done):,} rows from "
               f"{safe_url(settings.database_url)} to {safe_url(to)}.")  # fmt: skip


def _require_sqlite_file(url: str) -> None:
    """Reading the revision must not create the file (a mistyped path should say so)."""
    path = make_url(url).database
    if is_sqlite(url) and path not in (None, "", ":memory:") and not Path(str(path)).is_file():
        raise DatabaseUnavailable(
            f"the database {path} does not exist (the first start creates it, "
            "or `supportbot db upgrade`)"
        )


def _known(revision: str) -> bool:
    from alembic.util import CommandError  # Alembic only for this command (bot.storage.db)

    try:
        return migration_scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _named(revision: str) -> str:
    """The revision with its migration's one-line description, when this version has it."""
    from alembic.util import CommandError

    try:
        script = migration_scripts().get_revision(revision)
    except CommandError:
        return f"{revision} (unknown to this version)"
    doc = (script.doc or "").strip() if script is not None else ""
    return f"{revision} ({doc})" if doc else revision
