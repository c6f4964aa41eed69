"""SQLite through aiosqlite, with at most one thread hop per statement, and none inside
a write transaction.

aiosqlite runs the ``sqlite3`` connection in a thread of its own, and every call to it
is a hop there and back (about 0.1-0.2 ms of CPU: a queue, a thread switch, a wake-up of
the event loop through its self-pipe). SQLAlchemy's aiosqlite adapter makes four such
calls per statement (open a cursor, execute, fetch the rows, close the cursor); measured
with ``supportbot bench``, those hops were most of a group-committed batch's time, while
SQLite's own work on the other side was a few percent of it.

The cursor here hands the thread one function that does all four, so a statement costs
one hop. And the thread is only needed for what can wait: ``BEGIN IMMEDIATE`` waits
(up to ``busy_timeout``) while another process holds the write lock, COMMIT waits for
the disk, and anything outside a write transaction may wait for the lock too. Between a
``BEGIN IMMEDIATE`` and its COMMIT or ROLLBACK the lock is ours and, in WAL mode, no
statement can be made to wait, so they run right here in the event loop's thread (a
primary-key lookup or a small insert takes tens of microseconds). That is why the
connection is opened with ``check_same_thread=False``: it is used from both threads,
never from both at once. A rollback with no transaction open (the pool's reset after
every commit) is skipped instead of hopping to do nothing.

Nothing else changes: the same aiosqlite connection and thread, the same SQLAlchemy
dialect, the same exceptions (``sqlite3``'s, which aiosqlite re-exports). It is plugged
in as the dialect's DBAPI module (``create_async_engine(module=...)``), so URLs stay
``sqlite+aiosqlite://``.

It reaches into two of aiosqlite's internals, ``Connection._execute`` (run a function in
the connection's thread) and ``Connection._conn`` (the ``sqlite3`` connection), which
SQLAlchemy's own adapter uses as well; ``tests/bot/storage/test_sqlite_driver.py``
fails if either goes away.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid
BEGIN_WRITE = "BEGIN IMMEDIATE"  # how bot.storage.db begins every transaction


def _execute(conn: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    """In the connection's thread: the statement, its rows, and its counts, in one go."""
    cursor = conn.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _executemany(conn: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> Outcome:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.description, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


async def _here(function: Any, conn: sqlite3.Connection, operation: str, params: Any) -> Outcome:
    """Run ``function`` in the event loop's thread. A coroutine that never suspends:
    awaiting it costs no turn of the loop, and SQLAlchemy's async layer, which insists
    that a statement awaited something, is satisfied."""
    return function(conn, operation, params)  # type: ignore[no-any-return]


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose results arrive with the statement's single hop."""

    __slots__ = ("_outcome",)
    _awaitable_cursor_close = False  # there is no driver cursor left open to close

    def __init__(self, adapt_connection: OneHopConnection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome: Outcome = (None, [], -1, None)

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> int:
        return self._outcome[3] or 0

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(_execute, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(_executemany, operation, seq_of_parameters)

    def _run(self, function: Any, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        try:
            conn: sqlite3.Connection = connection._conn  # raises once the connection is closed
            if adapted.writing and conn.in_transaction:
                # The write lock is ours: nothing can make this statement wait.
                self._outcome = await_(_here(function, conn, operation, parameters))
            else:
                run = connection._execute(function, conn, operation, parameters)  # type: ignore[no-untyped-call]
                self._outcome = await_(run)
                adapted.writing = adapted.writing or operation == BEGIN_WRITE
        except Exception as error:
            adapted._handle_exception(error)
        self._rows = collections.deque(self._outcome[1])

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """``writing``: this connection's transaction began with ``BEGIN IMMEDIATE`` and
    holds SQLite's write lock until its COMMIT or ROLLBACK (which hop, as BEGIN does)."""

    __slots__ = ("writing",)
    _cursor_cls = OneHopCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.writing = False

    def commit(self) -> None:
        self.writing = False
        if self._open():
            super().commit()

    def rollback(self) -> None:
        """Also called by the pool on every connection it gets back, mostly after a
        COMMIT: with no transaction open, ``sqlite3`` would do nothing, so no trip."""
        self.writing = False
        if self._open():
            super().rollback()

    def _open(self) -> bool:
        conn: sqlite3.Connection | None = self._connection._connection
        return conn is None or conn.in_transaction  # closed: let aiosqlite say so


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's DBAPI shim, handing out ``OneHopConnection``s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)
