"""The hand-computed week (``fixture.py``) seeded once into a migrated SQLite file, and a
``supportbot``-like command line with the report registered the way bot.cli does it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from bot.cli import main_options
from bot.report_cli import report
from bot.reports import Period, parse_period
from bot.settings import Settings
from bot.storage.db import create_engine, upgrade
from tests.bot.reports.fixture import SINCE, UNTIL, ZONE, fixture_settings, seed
from tests.conftest import fresh_postgres_database

LATER = datetime(2026, 4, 1, tzinfo=UTC)  # "now" for the tests: after the week


@pytest.fixture(scope="package")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose support.db holds the week; read-only for the tests."""
    folder = tmp_path_factory.mktemp("week")
    with pytest.MonkeyPatch.context() as mp:  # settings must not pick up a developer's env
        for name in [n for n in os.environ if n.startswith("SUPPORTBOT_")]:
            mp.delenv(name)
        asyncio.run(seed(fixture_settings(folder)))
    return folder


@pytest.fixture
def period() -> Period:
    return parse_period(SINCE, UNTIL, now=LATER, timezone=ZONE)


def cli() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(main_options)
    app.command("report")(report)
    return app


def settings_file(folder: Path, database: Path, extra: str = "") -> Path:
    path = folder / "settings.toml"
    path.write_text(
        f'database_url = "sqlite+aiosqlite:///{database}"\n{extra}\n[hours]\ntimezone = "{ZONE}"\n',
        encoding="utf-8",
    )
    return path


def run_report(config: Path, *args: str) -> Result:
    """``supportbot --config FILE report ARGS`` in-process; stdout and stderr apart."""
    return CliRunner().invoke(cli(), ["--config", str(config), "report", *args])


@pytest.fixture
async def postgres_week(tmp_path: Path) -> AsyncIterator[Settings]:
    """The same week in a fresh PostgreSQL database (skipped without a server, unless
    SUPPORTBOT_REQUIRE_SERVICES=1, read by tests/conftest.py at import)."""
    async with fresh_postgres_database("supportbot_kpi") as url:
        settings = fixture_settings(tmp_path, database_url=url)
        engine = create_engine(settings.database_url)
        await upgrade(engine)
        await engine.dispose()
        await seed(settings)
        yield settings
