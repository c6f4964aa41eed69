"""The hand-computed week (``fixture.py``) seeded once into a migrated SQLite file and,
when SUPPORTBOT_TEST_DATABASE_URL names a server, once into a PostgreSQL database
(``week_database`` gives both, in turn); and a ``supportbot``-like command line with the
report registered the way bot.cli does it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from bot.cli import main_options
from bot.report_cli import report
from bot.reports import Period, parse_period
from tests.bot.reports.fixture import SINCE, UNTIL, ZONE, fixture_settings, seed
from tests.conftest import require_postgres
from tests.databases import NOT_SET, Database, configured_url

LATER = datetime(2026, 4, 1, tzinfo=UTC)  # "now" for the tests: after the week


@pytest.fixture(scope="package")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose support.db holds the week; read-only for the tests."""
    folder = tmp_path_factory.mktemp("week")
    seed_week(folder, None)
    return folder


def seed_week(folder: Path, database: Database | None) -> None:
    with pytest.MonkeyPatch.context() as mp:  # settings must not pick up a developer's env
        for name in [n for n in os.environ if n.startswith("SUPPORTBOT_")]:
            mp.delenv(name)
        asyncio.run(seed(fixture_settings(folder, database)))


@pytest.fixture(scope="package")
def postgres_week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The same week in a PostgreSQL database of its own, read-only for the tests (skipped
    without SUPPORTBOT_TEST_DATABASE_URL; a failure when the server does not answer and
    SUPPORTBOT_REQUIRE_SERVICES=1)."""
    server = require_postgres()
    database = Database("postgresql", server.create(migrated=True))
    try:
        seed_week(tmp_path_factory.mktemp("pg-week"), database)
        yield database
    finally:
        server.drop(database.url)


@pytest.fixture(
    scope="package",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=() if configured_url() else pytest.mark.skip(NOT_SET)),
    ],
)
def week_database(request: pytest.FixtureRequest) -> Database:
    """The week on SQLite, then on PostgreSQL: the report must say the same on both."""
    if request.param == "sqlite":
        week: Path = request.getfixturevalue("week")
        return Database("sqlite", f"sqlite+aiosqlite:///{week / 'support.db'}")
    postgres: Database = request.getfixturevalue("postgres_week")
    return postgres


@pytest.fixture
def period() -> Period:
    return parse_period(SINCE, UNTIL, now=LATER, timezone=ZONE)


def cli() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(main_options)
    app.command("report")(report)
    return app


def settings_file(folder: Path, database: Path | Database, extra: str = "") -> Path:
    """A settings file naming the database (a SQLite file's path, or a test database)."""
    url = database.url if isinstance(database, Database) else f"sqlite+aiosqlite:///{database}"
    path = folder / "settings.toml"
    path.write_text(
        f'database_url = "{url}"\n{extra}\n[hours]\ntimezone = "{ZONE}"\n',
        encoding="utf-8",
    )
    return path


def run_report(config: Path, *args: str) -> Result:
    """``supportbot --config FILE report ARGS`` in-process; stdout and stderr apart."""
    return CliRunner().invoke(cli(), ["--config", str(config), "report", *args])
