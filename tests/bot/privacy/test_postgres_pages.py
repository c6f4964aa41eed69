"""On PostgreSQL an erasure leaves none of the customer's bytes in the table pages: the
tables it touched are vacuumed once it has committed, so the old row versions an UPDATE
or DELETE leaves behind are gone, not waiting for autovacuum. The pages (tables, their
TOAST tables and indexes) are read raw with the pageinspect extension; skipped with the
reason when there is no server (SUPPORTBOT_TEST_DATABASE_URL) or no pageinspect."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.privacy import erasure
from bot.storage.db import create_engine
from bot.storage.privacy_queries import vacuum_tables
from tests.bot.privacy.scenario import ZELDA_SECRETS, bench, scenario_settings, zelda_and_omar
from tests.conftest import Clock, fresh_postgres_database

asyncpg = pytest.importorskip("asyncpg")

RELATIONS = """
    SELECT rel::regclass::text FROM (
        SELECT c.oid AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
        UNION ALL
        SELECT c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reltoastrelid <> 0
        UNION ALL
        SELECT i.indexrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_index i ON i.indrelid = c.reltoastrelid
        WHERE n.nspname = 'public' AND c.relkind = 'r'
    ) AS relations
"""


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database(migrated=True) as url:
        yield url


async def raw_pages(url: str, relations: str = RELATIONS) -> bytes:
    """Every page of every relation the query names, as stored (main fork)."""
    conn: Any = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        except asyncpg.PostgresError as exc:
            pytest.skip(f"pageinspect is not available: {exc}")
        pages = []
        for (name,) in await conn.fetch(relations):
            size = await conn.fetchval("SELECT pg_relation_size($1::regclass)", name)
            for block in range(size // 8192):
                pages.append(await conn.fetchval("SELECT get_raw_page($1, $2)", name, block))
        return b"".join(pages)
    finally:
        await conn.close()


def leaks(pages: bytes) -> list[str]:
    low = pages.lower()
    return [s for s in ZELDA_SECRETS if s.lower().encode() in low]


async def test_an_erasure_leaves_nothing_of_the_customer_in_the_table_pages(
    pg_url: str, tmp_path: Path, clock: Clock
) -> None:
    async with bench(scenario_settings(tmp_path, database_url=pg_url), clock) as b:
        await zelda_and_omar(b)
        assert len(leaks(await raw_pages(pg_url))) >= 5  # her words are in the pages

        report = await erasure.erase(b.app.repo, "local:zelda", by="Dora", reason="r",
                                     now=clock())  # fmt: skip

        assert report.file_scrubbed and report.counts["messages"] > 10
        assert leaks(await raw_pages(pg_url)) == []

    # The pages are really read: a deleted row that nobody vacuumed is still there.
    conn: Any = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("CREATE TABLE control (t text)")
        await conn.execute("INSERT INTO control VALUES ('the lighthouse keeper')")
        await conn.execute("DELETE FROM control")
    finally:
        await conn.close()
    control = "SELECT 'control'::regclass::text"
    assert leaks(await raw_pages(pg_url, control)) == ["lighthouse"]


async def test_a_database_user_that_cannot_vacuum_is_told_not_trusted(pg_url: str) -> None:
    """VACUUM skips tables its user does not own with a mere notice: the erasure then
    reports that the freed space was not overwritten, rather than pretending."""
    role = f"supportbot_reader_{uuid.uuid4().hex[:8]}"
    admin: Any = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    await admin.execute(f"CREATE ROLE {role} LOGIN")
    engine = create_engine(pg_url.replace("://postgres@", f"://{role}@"))
    try:
        async with engine.connect() as conn:  # it can use the database, just not vacuum it
            assert (await conn.exec_driver_sql("SELECT current_user")).scalar() == role
        assert await vacuum_tables(engine, ["messages", "cases"], rewrite=True) is False
        assert await vacuum_tables(engine, [], rewrite=True) is True
    finally:
        await engine.dispose()
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()
