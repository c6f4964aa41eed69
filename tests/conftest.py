"""Shared fixtures: a fake clock, real SQLite files, and a chat harness that reads like a
transcript (errbot's testbot idea): ``await chat.say("hi")`` returns what the customer saw."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, running_app
from bot.messages import Message, Reply
from bot.settings import Settings, VerificationSettings

REPO = Path(__file__).resolve().parent.parent
ORDERS = REPO / "config" / "sample_orders.csv"
# CI sets this so that tests needing PostgreSQL fail instead of skipping.
REQUIRE_SERVICES = os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get(
    "SUPPORTBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's SUPPORTBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("SUPPORTBOT_"):
            monkeypatch.delenv(name)


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "supportbot") -> AsyncIterator[str]:
    """A new, empty database on the local PostgreSQL server (its asyncpg URL), dropped
    afterwards. Skips with the reason when no server answers, or fails when
    SUPPORTBOT_REQUIRE_SERVICES=1 (as in CI)."""
    asyncpg = pytest.importorskip("asyncpg", reason="no asyncpg: pip install '.[dev]'")
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


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


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'support.db'}",
        "verification": VerificationSettings(orders_file=ORDERS),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


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
