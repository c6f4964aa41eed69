"""Read-only units of work (``Repository.reading``): a desk notice looking up its case's
topic, an agent's post looking up its case, a delivery pass selecting pending rows. They
must not wait for a batch being committed (on SQLite that was the one write lock), and
a write slipped into one must fail instead of being committed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import open_repository
from bot.storage.models import Agent
from tests.conftest import make_settings
from tests.databases import Database

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_a_reader_does_not_wait_for_an_open_write_and_sees_the_last_commit(
    database: Database, tmp_path: Path
) -> None:
    repo = await open_repository(make_settings(tmp_path, database))
    try:
        async with repo.transaction() as tx:
            tx.session.add(Agent(name="ana", status="available", groups=[], updated_at=NOW))
        async with repo.transaction() as writer:
            writer.session.add(Agent(name="ben", status="away", groups=[], updated_at=NOW))
            await writer.session.flush()  # the writer holds its lock and an uncommitted row

            async def names() -> list[str]:
                async with repo.reading() as tx:
                    return list((await tx.session.execute(select(Agent.name))).scalars())

            assert await asyncio.wait_for(names(), timeout=5) == ["ana"]
        assert sorted(await names()) == ["ana", "ben"]
    finally:
        await repo.close()


async def test_a_write_inside_a_reader_fails_and_nothing_is_written(
    database: Database, tmp_path: Path
) -> None:
    repo = await open_repository(make_settings(tmp_path, database))
    try:
        with pytest.raises(RuntimeError, match="use transaction"):
            async with repo.reading() as tx:
                tx.session.add(Agent(name="eve", status="away", groups=[], updated_at=NOW))
        async with repo.reading() as tx:
            count = (await tx.session.execute(select(func.count()).select_from(Agent))).scalar()
        assert count == 0
    finally:
        await repo.close()
