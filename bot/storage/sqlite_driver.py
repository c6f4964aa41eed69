"""SQLite through aiosqlite with one thread hop per statement instead of four.

aiosqlite runs the ``sqlite3`` connection in a thread of its own, and every call to it
is a hop there and back (about 0.1-0.2 ms: a queue, a thread switch, a wake-up of the
event loop through its self-pipe). SQLAlchemy's aiosqlite adapter makes four such calls
per statement (open a cursor, execute, fetch the rows, close the cursor); measured with
``supportbot bench``, those hops were most of a group-committed batch's time, while
SQLite's own work on the other side was a few percent of it.

The cursor here hands the thread one function that does all four, so a statement costs
one hop. Nothing else changes: the same aiosqlite connection and thread, the same
SQLAlchemy dialect, the same exceptions (``sqlite3``'s, which aiosqlite re-exports).
It is plugged in as the dialect's DBAPI module (``create_async_engine(module=...)``),
so URLs stay ``sqlite+aiosqlite://``.

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
        try:
            run = connection._execute(  # type: ignore[no-untyped-call]
                function, connection._conn, operation, parameters
            )
            self._outcome = await_(run)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(self._outcome[1])

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's DBAPI shim, handing out ``OneHopConnection``s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)
