"""``supportbot db copy --to URL``: a support desk that outgrows its SQLite file moves
everything to PostgreSQL (or another file) and carries on where it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot.cli import app as supportbot_app
from bot.settings import Settings
from bot.storage.db import create_engine
from bot.storage.models import Base
from tests.conftest import Clock, fresh_postgres_database, make_settings, open_chat


def supportbot(tmp_path: Path, source: str, *args: str) -> Result:
    """The command in-process (from an async test: in a thread, it runs its own loop)."""
    config = tmp_path / "settings.toml"
    config.write_text(f'database_url = "{source}"\n', encoding="utf-8")
    return CliRunner().invoke(supportbot_app, ["--config", str(config), *args])


def copy(url: str) -> tuple[str, ...]:
    return ("db", "copy", "--to", url)


async def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in Base.metadata.sorted_tables
            }
    finally:
        await engine.dispose()


@asynccontextmanager
async def target(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'moved.db'}"
        return
    async with fresh_postgres_database() as url:  # empty: db copy creates the schema
        yield url


async def a_week_of_support(settings: Settings, clock: Clock) -> None:
    """Anna asks, is answered, then asks for a person: a case, an audit trail, an outbox."""
    async with open_chat(settings, clock) as chat:
        await chat.say("hi")
        await chat.say("How do I reset my password?")
        await chat.say("I want to talk to a person")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_everything_moves_and_the_conversation_carries_on(
    tmp_path: Path, clock: Clock, kind: str
) -> None:
    source = make_settings(tmp_path)
    await a_week_of_support(source, clock)
    before = await counts(source.database_url)
    assert before["cases"] == 1 and before["messages"] >= 6

    async with target(kind, tmp_path) as url:
        outcome = await asyncio.to_thread(supportbot, tmp_path, source.database_url, *copy(url))
        assert outcome.exit_code == 0, outcome.output
        assert "cases" in outcome.stdout and "Copied" in outcome.stdout
        assert await counts(url) == before

        moved = source.model_copy(update={"database_url": url})
        async with open_chat(moved, clock) as chat:
            clock.advance(minutes=1)
            await chat.say("Are you still there?")  # the same case, still open: relayed
            await chat.app.engine.deliver()
            relayed = [reply.text for _, reply in chat.desk_inbox.sent]
            assert any("Are you still there?" in text for text in relayed), relayed
            chat.user, chat.name = "bruno", "Bruno"  # a new customer: new ids, no collision
            greeting = await chat.say("hi")
            assert "Bruno" in greeting[0].text
        after = await counts(url)
        assert after["customers"] == before["customers"] + 1
        assert after["messages"] > before["messages"]


async def test_a_database_in_use_is_never_copied_into(tmp_path: Path, clock: Clock) -> None:
    source = make_settings(tmp_path)
    await a_week_of_support(source, clock)
    url = f"sqlite+aiosqlite:///{tmp_path / 'moved.db'}"
    first = await asyncio.to_thread(supportbot, tmp_path, source.database_url, *copy(url))
    assert first.exit_code == 0, first.output
    once = await counts(url)

    again = await asyncio.to_thread(supportbot, tmp_path, source.database_url, *copy(url))

    assert again.exit_code == 2
    assert "already has records" in again.output
    assert await counts(url) == once  # untouched


@pytest.mark.parametrize(
    ("to", "says"),
    [
        ("SAME", "names the configured database itself"),
        ("mysql://x/y", "--to must start with sqlite+aiosqlite://"),
        ("not a url", "is not a database URL"),
    ],
)
def test_a_bad_target_is_one_line(tmp_path: Path, to: str, says: str) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    outcome = supportbot(tmp_path, source, "db", "copy", "--to", source if to == "SAME" else to)

    assert outcome.exit_code == 2
    assert says in outcome.output
    assert "Traceback" not in outcome.output
