"""Opening the database: engine, SQLite pragmas, and migrations applied in code.

SQLite is the embedded default: WAL journal, a busy timeout, foreign keys on, and
``BEGIN IMMEDIATE`` for every transaction so that a read-then-write never fails with
SQLITE_BUSY halfway (the write lock is taken up front, and waits up to the timeout).
PostgreSQL is the deployment for several workers; its schema is upgraded with
``supportbot db upgrade`` (the same migrations).

Alembic is imported only when the schema is behind: it and its templates cost about
11 MB of resident memory, which a bot whose database is up to date (every start but the
first) does not pay. ``HEAD`` names the newest migration for that check; a test keeps it
equal to the scripts' head.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot import loggers
from bot.errors import ConfigError, DatabaseUnavailable
from bot.storage.filesystems import network_filesystem
from bot.storage.sqlite_driver import BEGIN_WRITE, OneHopDBAPI

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0005"  # the newest migration in migrations/versions
# The size the WAL file is cut back to once a checkpoint has emptied it. Without a limit
# it keeps its largest size for good: a burst written while a long report held a
# snapshot (so nothing could be checkpointed) left its megabytes on disk.
WAL_SIZE_LIMIT = 64 * 1024 * 1024
MIGRATION_WAIT = 120.0  # seconds a starting process waits for another's migration


def safe_url(url: str) -> str:
    """The URL without its password, fit for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def missing_sqlite_file(url: str) -> str | None:
    """The SQLite file's path if it does not exist (opening it would create it), for
    commands that only read: a mistyped path should say so, not show an empty database."""
    parsed = make_url(url)
    name = parsed.database
    local = parsed.get_backend_name() == "sqlite" and name not in (None, "", ":memory:")
    return str(name) if local and not Path(str(name)).is_file() else None


# PostgreSQL connections a process keeps open for reuse (it opens more when it needs them,
# and closes those when they come back). A busy receiving process holds up to 15 at once
# (group-commit lanes, the inbox's, delivery passes, desk notices, marks); with
# SQLAlchemy's default of 5 kept, it opened 363 connections in one benchmark run, each a
# new server process and a new prepared-statement cache. A quiet process keeps only what
# it used, so this costs no connections that were not needed.
POOL_SIZE = 20


def create_engine(
    url: str, *, busy_timeout_ms: int = 5000, synchronous: str = "FULL",
    idle_transaction_seconds: float = 60.0,
) -> AsyncEngine:  # fmt: skip
    """An async engine; for SQLite the file (and its folder) is created on first use.

    On PostgreSQL a transaction left idle for ``idle_transaction_seconds`` is ended by the
    server (``idle_in_transaction_session_timeout``), and with it the conversations it
    held: a worker that froze mid-pass (stopped, swapping, a debugger) still has its
    connection open, so without this its lease would never expire. Our transactions
    wait on nothing slow, so a live one is never idle for long."""
    if not is_sqlite(url):
        from bot.storage.models import with_postgresql_options

        with_postgresql_options()
        idle = {"idle_in_transaction_session_timeout": str(int(idle_transaction_seconds * 1000))}
        return create_async_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                                   connect_args={"server_settings": idle})  # fmt: skip
    parsed = make_url(url)
    database = parsed.database
    on_disk = bool(database) and database != ":memory:" and parsed.query.get("mode") != "memory"
    if database and on_disk and not database.startswith("file:"):  # (a URI names no folder)
        folder = Path(database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the database folder {folder}: {exc.strerror}"
            raise DatabaseUnavailable(msg) from None
        if kind := network_filesystem(folder):
            msg = (
                f"the SQLite file {database} would be on a network filesystem ({kind}), where "
                "SQLite's locking is unreliable and the file can be corrupted; put it on a "
                "local disk, or use PostgreSQL for storage shared over a network "
                "(SUPPORTBOT_DATABASE_URL=postgresql+asyncpg://...)"
            )
            raise ConfigError(msg)
    engine = create_async_engine(
        url,
        # statements inside a write transaction run in the event loop's thread (see
        # bot.storage.sqlite_driver), the rest in aiosqlite's
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        module=OneHopDBAPI(),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        (mode,) = cursor.fetchone()
        if on_disk and str(mode).lower() != "wal":
            # bot.storage.sqlite_driver runs statements in the event loop's thread on the
            # promise that, in WAL mode, nothing inside a write transaction can wait.
            cursor.close()
            msg = f"the SQLite file {database} cannot use WAL journaling (it stays {mode!r})"
            raise DatabaseUnavailable(msg)
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(BEGIN_WRITE)

    return engine


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent).

    Two processes may start at once on a new SQLite file (a chat and ``cases watch``):
    one migrates while the other waits for the write lock. Alembic (seconds to import on
    a cold, busy machine) is imported before the lock is taken, and only when the schema
    is behind; still, a migration on a busy machine can outlast ``busy_timeout``, so the
    other process keeps waiting (up to ``MIGRATION_WAIT``) instead of giving up."""

    def _run(connection: Connection) -> None:
        if _version(connection) == HEAD:  # another process may have just done it
            return
        from alembic import command

        command.upgrade(_alembic_config(connection), "head")

    in_force = ""
    deadline = time.monotonic() + MIGRATION_WAIT
    while True:
        try:
            async with engine.begin() as conn:
                current = await conn.run_sync(_version)
                if conn.dialect.name == "sqlite":
                    in_force = " (" + await conn.run_sync(_sqlite_settings) + ")"
            if current != HEAD:
                for module in ("alembic.command", "alembic.config"):  # outside the lock
                    importlib.import_module(module)
                async with engine.begin() as conn:
                    await conn.run_sync(_run)
            break
        # DBAPIError: a refused login or a missing database is no DatabaseError on asyncpg;
        # OSError: asyncpg cannot reach the server at all
        except (DBAPIError, OSError) as exc:
            if _locked(exc) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)  # another process is migrating: wait for it
                continue
            raise DatabaseUnavailable(describe_operational_error(exc, engine)) from exc
    loggers.storage.info("schema up to date on %s%s", safe_url(str(engine.url)), in_force)


def _locked(exc: BaseException) -> bool:
    """SQLite's write lock held by another process beyond ``busy_timeout``."""
    return "database is locked" in str(exc)


def _sqlite_settings(connection: Connection) -> str:
    """What SQLite says it runs with (not what was asked): for the start-up log."""
    values = {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
        for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
    }
    synchronous = ("OFF", "NORMAL", "FULL", "EXTRA")[int(values["synchronous"] or 0)]
    foreign_keys = "on" if values["foreign_keys"] else "OFF"
    return (f"journal_mode={values['journal_mode']}, synchronous={synchronous}, "
            f"busy_timeout={values['busy_timeout']} ms, foreign_keys={foreign_keys}")  # fmt: skip


def _version(connection: Connection) -> str | None:
    """The revision Alembic recorded, read without Alembic; None without its table."""
    try:
        with connection.begin_nested():  # a missing table must not spoil the transaction
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at; None for a database without the schema."""
    from alembic.runtime.migration import MigrationContext

    def _get(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_get)
    except (DBAPIError, OSError) as exc:
        raise DatabaseUnavailable(describe_operational_error(exc, engine)) from exc


def migration_scripts() -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest migration this version of the product knows."""
    head = migration_scripts().get_current_head()
    assert head is not None, "there are no migrations"
    return head


def describe_operational_error(exc: DBAPIError | OSError, engine: AsyncEngine) -> str:
    """Turn a driver error into one sentence for a person (no secrets)."""
    where = safe_url(str(engine.url))
    if isinstance(exc, OSError):  # refused, unknown host, no route: never reached it
        return f"the database {where} cannot be reached: {exc}"
    reason = str(exc.orig) if exc.orig is not None else str(exc)
    password = engine.url.password
    if password and len(str(password)) >= 3:  # drivers do not echo it, but never risk it
        reason = reason.replace(str(password), "***")
    if "locked" in reason or "busy" in reason:
        return f"the database {where} is locked by another process; try again shortly"
    return f"the database {where} cannot be used: {reason}"
