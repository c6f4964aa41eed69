"""The same product on PostgreSQL, the deployment for several workers.

Each test run gets a fresh database on the local server (127.0.0.1:5432, database
``test`` for administration). Where no server is reachable the tests skip with the
reason, unless SUPPORTBOT_REQUIRE_SERVICES=1 (as in CI), where they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.app import running_app
from bot.errors import DatabaseUnavailable
from bot.messages import Message
from bot.storage.db import create_engine, upgrade
from bot.storage.models import Base
from tests.conftest import Clock, Recorder, fresh_postgres_database, make_settings


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def test_postgres_needs_an_explicit_upgrade_then_matches_the_models(
    pg_url: str, tmp_path: Path, clock: Clock
) -> None:
    settings = make_settings(tmp_path, database_url=pg_url)
    with pytest.raises(DatabaseUnavailable, match="run `supportbot db upgrade` first"):
        async with running_app(settings, now=clock):
            pass
    engine = create_engine(pg_url)
    await upgrade(engine)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    await engine.dispose()
    assert diff == []


async def test_conversation_handoff_and_racing_claims_on_postgres(
    pg_url: str, tmp_path: Path, clock: Clock
) -> None:
    engine = create_engine(pg_url)
    await upgrade(engine)
    await engine.dispose()
    settings = make_settings(tmp_path, database_url=pg_url)
    channel = Recorder()

    def said(text: str, message_id: str) -> Message:
        return Message("test", "anna", "anna", text, message_id=message_id, user_name="Anna")

    async with (
        running_app(settings, senders={"test": channel}, now=clock) as one,
        running_app(settings, now=clock) as two,
    ):
        assert await one.engine.handle_message(said("hi", "1"))
        assert not await two.engine.handle_message(said("hi", "1"))  # redelivered elsewhere
        await one.engine.handle_message(said("I need a human", "2"))
        assert "opened case #1" in channel.sent[-1][1].text

        results = await asyncio.gather(
            one.desk.claim(1, "Bob"), two.desk.claim(1, "Carol"), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["CaseAlreadyClaimed", "str"]
        owner = "Bob" if isinstance(results[0], str) else "Carol"
        app = one if owner == "Bob" else two
        await app.desk.reply(1, owner, "Hello from the desk")
        await one.engine.deliver()
        assert channel.sent[-1][1].text == "Hello from the desk"
        await app.desk.resolve(1, owner, "done")
        await one.engine.handle_message(said("5", "3"))
        assert "add a comment" in channel.sent[-1][1].text
