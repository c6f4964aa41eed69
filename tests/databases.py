"""The databases tests run on: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is used when ``SUPPORTBOT_TEST_DATABASE_URL`` names a server (an asyncpg URL
such as ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``; its database is used only
to create and drop the tests' own). ``.ci/run`` sets it when a local server answers.

Per test the cost stays low: the migrations run once per session, into a template
database, and each test gets ``CREATE DATABASE … TEMPLATE`` of it (about 0.2 s). Dropping
a database waits for a checkpoint (0.3 s or more), so drops run on a connection of their
own in a background thread while the next tests go on; the session's end waits for them.
The admin work happens on that thread's event loop, so it never mixes with the loops of
the tests (pytest-asyncio gives each test its own).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import itertools
import os
import socket
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

T = TypeVar("T")
Kind = Literal["sqlite", "postgresql"]
KINDS: tuple[Kind, ...] = ("sqlite", "postgresql")
URL_VARIABLE = "SUPPORTBOT_TEST_DATABASE_URL"
NOT_SET = (
    f"PostgreSQL tests skipped: {URL_VARIABLE} is not set (set it to an asyncpg URL such as "
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test; .ci/run does when a server answers)"
)


@dataclass(frozen=True)
class Database:
    """Where one test's data lives: ``url`` goes into ``Settings.database_url``."""

    kind: Kind
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"


class PostgresUnavailable(Exception):
    """The server named by SUPPORTBOT_TEST_DATABASE_URL cannot be used; the message says why."""


class PostgresServer:
    """Creates and drops the tests' databases on one server, from a background thread."""

    def __init__(self, url: str) -> None:
        try:
            self.url: URL = make_url(url)
        except ArgumentError:
            self.url = make_url("sqlite://")  # the message must not echo a password
        if self.url.drivername != "postgresql+asyncpg":
            raise ValueError(f"{URL_VARIABLE} must be a postgresql+asyncpg:// URL")
        self.shown = self.url.render_as_string(hide_password=True)
        # host, pid and a random part: several sessions may share the server; a session
        # killed before its end (SIGKILL, `timeout`) leaves databases that a later session
        # on the same host drops once it sees their process is gone
        self.prefix = f"{HOST_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._numbers = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="test-postgres", daemon=True
        )
        self._admin: Any = None  # asyncpg connections, opened on the thread's loop
        self._dropper: Any = None
        self._drop_lock: asyncio.Lock | None = None
        self._template: str | None = None
        self._unreachable: str | None = None
        self._template_error: BaseException | None = None
        self._drops: list[concurrent.futures.Future[None]] = []
        self._stale: list[asyncio.Task[None]] = []

    @property
    def unreachable(self) -> str | None:
        """Why the server could not be used, once a test found out; else None."""
        return self._unreachable

    # -- called from the tests' thread ------------------------------------------------

    def create(self, *, migrated: bool) -> str:
        """A new database (migrated to the head, or empty), as an asyncpg URL. Blocks."""
        return self._call(self._create(migrated))

    async def acreate(self, *, migrated: bool) -> str:
        """The same, awaited from a test's event loop."""
        return await asyncio.wrap_future(self._submit(self._create(migrated)))

    def drop(self, url: str) -> None:
        """Drop the database in the background (the session's end waits for it)."""
        name = make_url(url).database
        assert name and name.startswith(self.prefix), name
        self._drops.append(self._submit(self._drop(name)))

    def check(self) -> None:
        """Raise PostgresUnavailable (with the reason) when the server cannot be used."""
        self._call(self._connect())

    def close(self) -> None:
        """Wait for the pending drops, drop the template, stop the thread."""
        if not self._thread.is_alive():
            return
        try:
            concurrent.futures.wait(self._drops, timeout=120)
            failed = [f for f in self._drops if not f.done() or f.exception() is not None]
            if failed:  # left behind: named {prefix}_N on the server
                print(f"\n{len(failed)} test databases {self.prefix}_* could not be dropped: "
                      f"{failed[0].exception() if failed[0].done() else 'timed out'}")  # fmt: skip
            self._call(self._close(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self._loop.close()

    # -- on the background loop -------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 300) -> T:
        return self._submit(coro).result(timeout)

    def _admin_dsn(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _connect(self) -> None:
        if self._unreachable is not None:
            raise PostgresUnavailable(self._unreachable)
        if self._admin is not None:
            return
        import asyncpg  # type: ignore[import-untyped]

        try:
            self._admin = await asyncpg.connect(self._admin_dsn(), timeout=5)
            self._dropper = await asyncpg.connect(self._admin_dsn(), timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            if self._admin is not None:
                await self._admin.close()
                self._admin = None
            self._unreachable = f"PostgreSQL at {self.shown} cannot be used: {exc}"
            raise PostgresUnavailable(self._unreachable) from None
        self._drop_lock = asyncio.Lock()
        for (name,) in await self._admin.fetch("SELECT datname FROM pg_database"):
            if _left_behind(name):
                self._stale.append(asyncio.ensure_future(self._drop(name)))

    async def _create(self, migrated: bool) -> str:
        await self._connect()
        name = f"{self.prefix}_{next(self._numbers)}"
        if migrated:
            template = await self._migrated_template()
            await self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url.set(database=name).render_as_string(hide_password=False)

    async def _migrated_template(self) -> str:
        """Created and upgraded the way `supportbot db upgrade` does it, once per session."""
        if self._template_error is not None:
            raise RuntimeError("migrating the template database failed earlier in this "
                               "session") from self._template_error  # fmt: skip
        if self._template is not None:
            return self._template
        from bot.storage.db import create_engine, upgrade

        name = f"{self.prefix}_template"
        await self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        engine = create_engine(self.url.set(database=name).render_as_string(hide_password=False))
        try:
            await upgrade(engine)
        except BaseException as exc:
            self._template_error = exc
            raise
        finally:
            await engine.dispose()
            if self._template_error is not None:
                await self._drop(name)
        self._template = name
        return name

    async def _drop(self, name: str) -> None:
        assert self._drop_lock is not None
        async with self._drop_lock:  # one statement at a time on the dropping connection
            await self._dropper.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _close(self) -> None:
        await asyncio.gather(*self._stale, return_exceptions=True)
        if self._template is not None:
            await self._drop(self._template)
            self._template = None
        for connection in (self._admin, self._dropper):
            if connection is not None:
                await connection.close()
        self._admin = self._dropper = None


HOST_PREFIX = f"supportbot_test_{hashlib.sha1(socket.gethostname().encode()).hexdigest()[:4]}_"


def _left_behind(name: str) -> bool:
    """A database of a test session on this host whose process no longer runs."""
    if not name.startswith(HOST_PREFIX):
        return False
    pid = name.removeprefix(HOST_PREFIX).split("_", 1)[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, someone else's
        return False
    return False


_server: PostgresServer | None = None
_configured_url = os.environ.get(URL_VARIABLE) or None  # read at import: tests hide SUPPORTBOT_*


def configured_url() -> str | None:
    return _configured_url


def postgres_server() -> PostgresServer | None:
    """The session's server, or None when SUPPORTBOT_TEST_DATABASE_URL is not set."""
    global _server
    if _server is None and _configured_url is not None:
        _server = PostgresServer(_configured_url)
    return _server


def close_postgres_server() -> None:
    global _server
    if _server is not None:
        _server.close()
        _server = None
