"""The embedded SQLite database: pragmas, migrations, and a locked file."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text

from bot.app import running_app
from bot.errors import DatabaseUnavailable
from bot.messages import Message
from bot.settings import Settings
from bot.storage import db
from bot.storage.db import create_engine, current_revision, safe_url, upgrade
from bot.storage.models import Base
from tests.conftest import Clock, Recorder, fresh_postgres_database, make_settings


async def test_sqlite_runs_in_wal_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", busy_timeout_ms=4321)
    async with engine.connect() as conn:
        values = [
            (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        ]
    await engine.dispose()
    assert values == ["wal", 4321, 1, 2]  # synchronous 2 = FULL


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_the_wal_shrinks_back_after_a_long_reader_let_it_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers are not blocked by a long reader, and the WAL file they grew meanwhile
    (nothing could be checkpointed past the reader's snapshot) is cut back afterwards."""
    monkeypatch.setattr(db, "WAL_SIZE_LIMIT", 256 * 1024)
    path = tmp_path / "w.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    wal = Path(f"{path}-wal")
    row = "x" * 1000

    async def write(rows: int) -> None:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (v TEXT)")
            await conn.exec_driver_sql("INSERT INTO t VALUES (?)", [(row,)] * rows)

    await write(1)
    reader = sqlite3.connect(path)  # a report's long read holds a snapshot
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    for _ in range(20):
        await write(500)  # about 10 MB, none of it checkpointed past the reader
    grown = _size(wal)
    reader.execute("COMMIT")
    reader.close()
    for _ in range(3):
        await write(500)  # the next checkpoint runs to the end, and the WAL starts over
    after = _size(wal)
    await engine.dispose()
    assert grown > 10_000_000
    assert after < 5_000_000  # cut to the limit, plus what was written since


async def test_migrations_create_exactly_the_models_schema_and_are_idempotent(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    await upgrade(engine)
    assert await current_revision(engine) is not None
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    await engine.dispose()
    assert diff == []


async def test_alembic_is_imported_before_the_write_lock_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes starting at once on a new file (a chat and ``cases watch``): the one
    that migrates must not hold the write lock while importing Alembic (seconds on a
    cold, busy machine), or the other gives up after ``busy_timeout``."""
    path = tmp_path / "new.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    real, imported = importlib.import_module, []

    def import_module(name: str, package: str | None = None) -> ModuleType:
        if name.startswith("alembic."):
            other = sqlite3.connect(path, timeout=0)  # another process, not waiting at all
            try:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" if it is held
                other.rollback()
            finally:
                other.close()
            imported.append(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    try:
        await upgrade(engine)
        assert await current_revision(engine) is not None
    finally:
        await engine.dispose()
    assert "alembic.command" in imported


async def test_the_database_folder_is_created_on_first_start(tmp_path: Path, clock: Clock) -> None:
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/new/dir/x.db")
    async with running_app(settings, now=clock):
        pass
    assert (tmp_path / "new" / "dir" / "x.db").is_file()


async def test_an_unusable_database_path_is_reported_clearly(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{blocker}/x.db")
    with pytest.raises(DatabaseUnavailable, match="cannot create the database folder"):
        async with running_app(settings, now=clock):
            pass


async def test_a_locked_database_refuses_the_message_clearly_and_loses_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    settings: Settings = make_settings(tmp_path, busy_timeout_ms=200)
    channel = Recorder()
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        blocker = sqlite3.connect(tmp_path / "support.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        message = Message("test", "anna", "anna", "hi", message_id="42", user_name="Anna")
        with pytest.raises(DatabaseUnavailable, match="is locked by another process"):
            await app.engine.handle_message(message)
        blocker.execute("ROLLBACK")
        blocker.close()
        assert await app.engine.handle_message(message) is True  # the retry is processed
        assert channel.sent[0][1].text.startswith("Hello Anna")


async def test_passwords_never_appear_in_database_urls_shown(tmp_path: Path) -> None:
    assert safe_url("postgresql+asyncpg://bot:s3cret@db/support") == (
        "postgresql+asyncpg://bot:***@db/support"
    )


async def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path, clock: Clock) -> None:
    bogus = tmp_path / "support.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseUnavailable, match="cannot be used"):
        async with running_app(make_settings(tmp_path), now=clock):
            pass


async def test_schema_has_one_open_case_per_conversation(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'u.db'}")
    await upgrade(engine)
    async with engine.connect() as conn:
        sql = (
            await conn.execute(
                text(
                    "SELECT sql FROM sqlite_master WHERE name='uq_cases_one_open_per_conversation'"
                )
            )
        ).scalar()
    await engine.dispose()
    assert "WHERE status IN ('open', 'assigned')" in sql


async def test_postgresql_keeps_the_connections_a_busy_process_uses(tmp_path: Path) -> None:
    """A receiving process under load holds a dozen transactions at once. Those
    connections stay open for the next burst: with SQLAlchemy's default of five kept, a
    benchmark run opened 363 (each a new server process and a new statement cache)."""
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        connects = 0

        def connected(*args: object) -> None:
            nonlocal connects
            connects += 1

        event.listen(engine.sync_engine, "connect", connected)
        together = asyncio.Event()

        async def hold() -> None:  # a transaction waiting with the others
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await together.wait()

        try:
            for burst in range(3):
                holders = [asyncio.create_task(hold()) for _ in range(15)]
                await asyncio.sleep(0.2)
                together.set()
                await asyncio.gather(*holders)
                together.clear()
                if burst == 0:
                    assert connects == 15
            assert connects == 15  # the later bursts reused them
        finally:
            await engine.dispose()


async def test_the_start_up_log_says_what_sqlite_runs_with(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", synchronous="NORMAL")
    with caplog.at_level("INFO", logger="supportbot.storage"):
        await upgrade(engine)
    await engine.dispose()
    assert (
        "(journal_mode=wal, synchronous=NORMAL, busy_timeout=5000 ms, foreign_keys=on)"
        in caplog.text
    )
