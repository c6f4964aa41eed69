"""What a bench run is asked to do, and the settings and database it runs on.

The bench never touches the operator's data by default: without ``--database-url`` it
runs on a fresh SQLite file in a temporary folder. With a PostgreSQL URL the schema is
upgraded first, exactly as ``supportbot db upgrade`` does, and every run's customers get
ids of their own (``run_tag``), so runs can share a scratch database and each run's check
looks at its own conversations only.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.errors import ConfigError
from bot.settings import DATABASE_SCHEMES, Settings
from bot.storage.db import create_engine, is_sqlite, upgrade

Channel = Literal["local", "telegram", "slack"]
CHANNELS: tuple[Channel, ...] = ("local", "telegram", "slack")
# Simulated customers type faster than people; the flood guard still runs on every
# message, but must not slow a scripted customer down to one message a minute.
BENCH_MESSAGES_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class BenchOptions:
    channel: Channel = "local"
    conversations: int = 30
    messages: int = 8
    rate: float | None = None  # messages/s overall; None: each customer as fast as answered
    workers: int = 0  # 0: the dialogue runs in the bench's process; N: N worker processes
    kill_worker: bool = False  # SIGKILL one worker halfway and start it again
    seed: int = 7
    progress: bool = True  # a progress bar on standard error
    profile: Path | None = None  # cProfile of the bot's process while the customers write

    def check(self) -> None:
        """One clear line for what cannot run (yet)."""
        if self.channel not in CHANNELS:
            raise ConfigError(f"--channel must be one of {', '.join(CHANNELS)}")
        if self.workers < 0:
            raise ConfigError("--workers must be 0 (one process) or more")
        if self.kill_worker and self.workers < 1:
            raise ConfigError("--kill-worker needs --workers 1 or more")
        if self.conversations < 1 or self.messages < 1:
            raise ConfigError("--conversations and --messages must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise ConfigError("--rate must be a positive number of messages per second")


def bench_settings(settings: Settings, url: str, kb: Path | None, desk: str) -> Settings:
    """The operator's settings with the bench's database, articles and desk."""
    if not url.startswith(DATABASE_SCHEMES):
        raise ConfigError(f"--database-url must start with {' or '.join(DATABASE_SCHEMES)}")
    abuse = settings.abuse.model_copy(update={"messages_per_minute": BENCH_MESSAGES_PER_MINUTE})
    update: dict[str, object] = {"database_url": url, "desk": desk, "abuse": abuse}
    if kb is not None:
        update["kb_path"] = kb
    return settings.model_copy(update=update)


@contextlib.contextmanager
def scratch_database(database_url: str | None) -> Iterator[str]:
    """The given URL, or a fresh SQLite file removed with its folder afterwards."""
    if database_url is not None:
        yield database_url
        return
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as folder:
        yield f"sqlite+aiosqlite:///{folder}/bench.db"


async def prepare_database(settings: Settings) -> None:
    """PostgreSQL is never migrated implicitly by the bot: upgrade it here, as
    ``supportbot db upgrade`` would (SQLite upgrades itself when the bot opens it)."""
    if is_sqlite(settings.database_url):
        return
    engine = create_engine(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


BENCH_LOCK = 0x5B_E0C4  # the session advisory lock a run holds on a PostgreSQL database


@contextlib.asynccontextmanager
async def alone_on(settings: Settings) -> AsyncIterator[None]:
    """One run at a time on a PostgreSQL database: two at once would each send what the
    other left pending and report it lost. SQLite is not checked: the default file is
    the run's own."""
    if is_sqlite(settings.database_url):
        yield
        return
    engine = create_engine(
        settings.database_url, idle_transaction_seconds=settings.idle_transaction_seconds
    )
    try:
        # Outside a transaction: the lock is the session's, and a connection idle in a
        # transaction is ended by the server after idle_transaction_seconds (bot.storage
        # .db), which took the lock with it and failed the run's end after a minute.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            lock = {"key": BENCH_LOCK}
            if not await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), lock):
                raise ConfigError("another supportbot bench is running on this database; "
                                  "wait for it to end, or give another --database-url")  # fmt: skip
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
    finally:
        await engine.dispose()


def database_label(settings: Settings) -> str:
    """``sqlite`` or ``postgresql`` (with SQLite's synchronous mode, which decides a
    commit's cost)."""
    backend = make_url(settings.database_url).get_backend_name()
    if backend == "sqlite":
        return f"sqlite (synchronous={settings.sqlite_synchronous})"
    return backend


def run_tag() -> int:
    """Six random digits that make this run's chat ids, message ids and topics unique,
    so that a second run on the same database never collides with the first."""
    return 100_000 + secrets.randbelow(900_000)
