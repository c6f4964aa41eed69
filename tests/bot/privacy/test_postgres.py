"""Export, erasure, retention and the append-only audit trail on PostgreSQL (a fresh
database on 127.0.0.1:5432; skipped with the reason when there is no server, unless
SUPPORTBOT_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.privacy import erasure, export, retention
from bot.storage.db import create_engine, upgrade
from tests.bot.privacy.scenario import (
    ZELDA_EMAIL,
    ZELDA_SECRETS,
    bench,
    every_value,
    kpi_totals,
    scenario_settings,
    zelda_and_omar,
)
from tests.conftest import POSTGRES_ADMIN_URL, REQUIRE_SERVICES, Clock

asyncpg = pytest.importorskip("asyncpg", reason="asyncpg is not installed (pip install '.[dev]')")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"supportbot_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_customers_data_on_postgres(pg_url: str, tmp_path: Path, clock: Clock) -> None:
    async with bench(scenario_settings(tmp_path, database_url=pg_url), clock) as b:
        await zelda_and_omar(b)
        document = await export.export(b.app.repo, ZELDA_EMAIL, by="Dora", now=clock())
        assert document["customer_id"] == 1 and len(document["records"]["messages"]) > 10
        before = await kpi_totals(b)

        report = await erasure.erase(b.app.repo, "local:zelda", by="Dora", reason="r",
                                     now=clock())  # fmt: skip
        assert report.counts["messages"] > 10
        low = " ".join(v for _, v in await every_value(b)).lower()
        assert [s for s in ZELDA_SECRETS if s.lower() in low] == []
        assert await kpi_totals(b) == before

        clock.advance(days=400)
        dry = await retention.apply(b.app.repo, retention.RetentionSettings(), clock(),
                                    dry_run=True)  # fmt: skip
        assert dry.counts()["messages.messages"] > 0
        await retention.apply(b.app.repo, retention.RetentionSettings(), clock())
        assert (await retention.apply(b.app.repo, retention.RetentionSettings(), clock(),
                                      dry_run=True)).total == 0  # fmt: skip

        with pytest.raises(DBAPIError, match="append-only"):
            async with b.app.repo.transaction() as tx:
                await tx.session.execute(text("UPDATE audit_events SET actor = 'x'"))
