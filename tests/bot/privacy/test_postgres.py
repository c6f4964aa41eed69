"""Export, erasure, retention and the append-only audit trail on PostgreSQL (a fresh
database on 127.0.0.1:5432; skipped with the reason when there is no server, unless
SUPPORTBOT_REQUIRE_SERVICES=1)."""

from __future__ import annotations

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
from tests.conftest import Clock, fresh_postgres_database


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url


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
