"""The schema's migrations and ``supportbot db current``/``db upgrade``, on SQLite and on
PostgreSQL (tests/databases.py): from an empty database, from each earlier release's
schema with rows in it, and the revision shown before and after. The commands run
in-process, with a settings file naming the test's database."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Connection, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine
from typer.testing import CliRunner, Result

import bot.db_cli
from bot.app import running_app
from bot.cli import app as supportbot_app
from bot.errors import DatabaseUnavailable
from bot.messages import Message
from bot.storage.db import (
    MIGRATIONS,
    create_engine,
    head_revision,
    migration_scripts,
    upgrade,
)
from bot.storage.models import Base, UtcDateTime
from tests.conftest import Clock, Recorder, make_settings
from tests.databases import Database

HEAD = head_revision()
# A deployment upgrades from an older release's schema: from 0003 (the first the rows
# below fit) up to the one just before the head, each with data in it.
EARLIER = [
    script.revision
    for script in reversed(list(migration_scripts().walk_revisions("0003", HEAD)))
    if script.revision != HEAD
]
T0 = datetime(2026, 2, 27, 10, 0, tzinfo=UTC)


def supportbot_db(tmp_path: Path, url: str, *args: str) -> Result:
    """``supportbot --config FILE db ARGS`` in-process, the file naming only the database."""
    config = tmp_path / "settings.toml"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    result = CliRunner().invoke(supportbot_app, ["--config", str(config), "db", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def status_lines(result: Result) -> dict[str, str]:
    return dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)


def at_revision(url: str, revision: str) -> None:
    """Migrate an empty database to ``revision`` only, as that release would have."""

    def go(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(go)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def sql(url: str, statement: str, **values: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), values)
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


# Anna's conversation as release 0003 stored it: her case waits for an agent.
# (No explicit ids: PostgreSQL's sequences must count them; each table's first row is 1.)
ROWS_AT_0003 = [
    ("INSERT INTO customers (display_name, email, created_at) "
     "VALUES ('Anna', 'anna@example.com', :t)"),
    ("INSERT INTO identities (customer_id, channel, external_id, created_at) "
     "VALUES (1, 'test', 'anna', :t)"),
    ("INSERT INTO conversations (customer_id, channel, chat_id, state, data, version, "
     "started_at, last_activity_at) VALUES (1, 'test', 'anna', 'waiting_agent', :memory, 3, "
     ":t, :t)"),
    ("INSERT INTO cases (conversation_id, customer_id, status, category, priority, reason, "
     "summary, details, created_at) VALUES (1, 1, 'open', 'shipping', 'normal', "
     "'customer_request', 'Where is my parcel?', :data, :t)"),
    ("INSERT INTO messages (conversation_id, case_id, direction, sender, text, internal, "
     "created_at) VALUES (1, NULL, 'in', 'customer', 'Where is my parcel?', :no, :t)"),
    ("INSERT INTO messages (conversation_id, case_id, direction, sender, text, internal, "
     "created_at) VALUES (1, 1, 'in', 'customer', 'I want a human', :no, :t)"),
]  # fmt: skip


async def fill_earlier_release(url: str) -> None:
    values = {"t": T0, "data": {}, "memory": {"case_number": 1}, "no": False}
    types: dict[str, TypeEngine[Any]] = {"t": UtcDateTime(), "data": JSON(), "memory": JSON()}
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in ROWS_AT_0003:
                used = {k: v for k, v in values.items() if f":{k}" in statement}
                typed = [bindparam(k, type_=types[k]) for k in used if k in types]
                await conn.execute(text(statement).bindparams(*typed), used)
    finally:
        await engine.dispose()


async def schema_diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()


def test_an_empty_database_is_upgraded_to_the_head_and_matches_the_models(
    empty_database: Database, tmp_path: Path
) -> None:
    url = empty_database.url
    before = supportbot_db(tmp_path, url, "current")
    if empty_database.is_sqlite:  # reading the revision never creates the file
        assert before.exit_code == 1 and "does not exist" in before.stderr
        assert not (tmp_path / "support.db").exists()
    else:
        assert before.exit_code == 0, before.stderr
        assert status_lines(before)["Revision"].strip() == "none"
        assert "no schema: run `supportbot db upgrade`" in before.stdout

    upgraded = supportbot_db(tmp_path, url, "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert "Database schema is up to date." in upgraded.stdout
    after = supportbot_db(tmp_path, url, "current")
    assert after.exit_code == 0, after.stderr
    lines = status_lines(after)
    assert lines["Revision"].split()[0] == HEAD == lines["Head"].split()[0]
    assert lines["Status"].strip() == "up to date (at the head)"

    assert supportbot_db(tmp_path, url, "upgrade").exit_code == 0  # idempotent
    assert asyncio.run(schema_diff(url)) == []


@pytest.mark.parametrize("earlier", EARLIER)
def test_an_earlier_release_is_upgraded_with_its_rows_and_the_bot_carries_on(
    empty_database: Database, tmp_path: Path, clock: Clock, earlier: str
) -> None:
    url = empty_database.url
    at_revision(url, earlier)
    asyncio.run(fill_earlier_release(url))

    before = status_lines(supportbot_db(tmp_path, url, "current"))
    assert before["Revision"].split()[0] == earlier and before["Head"].split()[0] == HEAD
    assert before["Status"].strip() == "behind the head: run `supportbot db upgrade`"

    assert supportbot_db(tmp_path, url, "upgrade").exit_code == 0
    after = status_lines(supportbot_db(tmp_path, url, "current"))
    assert after["Revision"].split()[0] == HEAD
    assert after["Status"].strip() == "up to date (at the head)"
    assert asyncio.run(schema_diff(url)) == []

    async def carry_on() -> None:
        rows = await sql(url, "SELECT id, display_name, email FROM customers")
        assert rows == [(1, "Anna", "anna@example.com")]
        assert await sql(url, "SELECT count(*) FROM messages") == [(2,)]
        channel = Recorder()
        settings = make_settings(tmp_path, Database(empty_database.kind, url))
        async with running_app(settings, senders={"test": channel}, now=clock) as app:
            case = await app.desk.show(1, by="Bob")
            assert "Where is my parcel?" in case
            await app.desk.claim(1, "Bob")
            await app.desk.reply(1, "Bob", "It arrives tomorrow.")
            await app.engine.deliver()
            assert [r.text for _, r in channel.sent][-1] == "It arrives tomorrow."
            await app.engine.handle_message(Message("test", "anna", "anna", "Thanks!"))
            assert "Thanks!" in await app.desk.show(1, by="Bob")  # relayed into her case
            # the new release's append-only audit trail works on the old data
            with pytest.raises(DBAPIError, match="append-only"):
                async with app.repo.transaction() as tx:
                    await tx.session.execute(text("UPDATE audit_events SET actor = 'x'"))

    asyncio.run(carry_on())


def test_a_database_upgraded_by_a_newer_release_is_said_to_be_ahead(
    database: Database, tmp_path: Path
) -> None:
    assert supportbot_db(tmp_path, database.url, "upgrade").exit_code == 0
    asyncio.run(sql(database.url, "UPDATE alembic_version SET version_num = '0999'"))
    shown = supportbot_db(tmp_path, database.url, "current")
    assert shown.exit_code == 0
    lines = status_lines(shown)
    assert lines["Revision"].strip() == "0999 (unknown to this version)"
    assert "ahead of this version of supportbot" in lines["Status"]


@pytest.mark.only_on("postgresql", "SQLite is upgraded by the first start")
async def test_a_new_postgresql_database_needs_an_explicit_upgrade(
    empty_database: Database, tmp_path: Path, clock: Clock
) -> None:
    settings = make_settings(tmp_path, empty_database)
    with pytest.raises(DatabaseUnavailable, match="run `supportbot db upgrade` first"):
        async with running_app(settings, now=clock):
            pass


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_one_line_and_status_1_without_the_password(
    tmp_path: Path, free_port: int
) -> None:
    url = f"postgresql+asyncpg://bot:s3cret-Pass@127.0.0.1:{free_port}/support"
    for args in (["current"], ["upgrade"]):
        result = supportbot_db(tmp_path, url, *args)
        assert result.exit_code == 1
        assert result.stderr.startswith(
            f"supportbot: the database postgresql+asyncpg://bot:***@127.0.0.1:{free_port}/support"
            " cannot be reached"
        )
        assert len(result.stderr.splitlines()) == 1
        assert "s3cret" not in result.stdout + result.stderr


def test_a_missing_database_is_named_without_the_password(
    tmp_path: Path, database: Database
) -> None:
    if database.is_sqlite:
        url = f"sqlite+aiosqlite:///{tmp_path / 'typo.db'}"
        expected = f"supportbot: the database {tmp_path / 'typo.db'} does not exist"
    else:
        url = database.url.replace("@", ":s3cret-Pass@", 1).rsplit("/", 1)[0] + "/no_such_db"
        expected = 'no_such_db cannot be used: database "no_such_db" does not exist'
    result = supportbot_db(tmp_path, url, "current")
    assert result.exit_code == 1 and expected in result.stderr, result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert not (tmp_path / "typo.db").exists()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says anything (a hung server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def test_a_server_that_never_answers_times_out_clearly(
    tmp_path: Path, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.db_cli, "CONNECT_TIMEOUT_S", 0.5)
    url = f"postgresql+asyncpg://bot:s3cret-Pass@127.0.0.1:{silent_server}/support"
    result = supportbot_db(tmp_path, url, "current")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"supportbot: the database postgresql+asyncpg://bot:***@127.0.0.1:{silent_server}"
        "/support did not answer within 0.5 s"
    )


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    result = supportbot_db(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'junk.db'}", "current")
    assert result.exit_code == 1 and "cannot be used: file is not a database" in result.stderr


def test_the_head_the_bot_checks_at_start_is_the_newest_migration() -> None:
    """``db.HEAD`` lets a start on an up-to-date database skip Alembic; a new migration
    that forgets to move it would never be applied, so this test fails instead."""
    from bot.storage import db

    assert db.HEAD == HEAD


def test_a_bot_on_an_up_to_date_database_does_not_load_alembic(tmp_path: Path) -> None:
    """The first start migrates the new SQLite file; later starts only read the recorded
    revision, so the running bot never carries Alembic's memory."""
    import subprocess
    import sys

    probe = (
        "import asyncio, sys\n"
        "from bot.app import open_repository\n"
        "from bot.settings import Settings\n"
        f"s = Settings(database_url='sqlite+aiosqlite:///{tmp_path / 'bot.db'}')\n"
        "async def start():\n"
        "    repo = await open_repository(s)\n"
        "    await repo.close()\n"
        "asyncio.run(start())\n"
        "print('alembic' in sys.modules)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           timeout=120, check=True).stdout.strip() for _ in range(2)]  # fmt: skip

    assert runs == ["True", "False"]  # migrated the first time, untouched the second


async def test_a_start_waits_for_another_process_migrating_past_the_busy_timeout(
    tmp_path: Path,
) -> None:
    """Two processes starting at once on a new SQLite file: while one migrates (seconds
    on a busy machine, longer than ``busy_timeout``) the other waits, then goes on."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the first process, migrating
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=100)
    try:
        starting = asyncio.create_task(upgrade(engine))
        await asyncio.sleep(0.6)  # six times the busy timeout
        assert not starting.done()
        other.rollback()
        other.close()
        await asyncio.wait_for(starting, 60)
        async with engine.connect() as conn:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        assert version == HEAD
    finally:
        await engine.dispose()
