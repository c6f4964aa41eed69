"""Writes that wait for the end of a batch (part of the repository layer).

On SQLite every statement is a hop to the driver's thread, and the ORM writes the rows
it tracks one statement each (it wants every new id back, which SQLite's RETURNING does
not promise in order, and it checks each UPDATE's row count, which SQLite's driver cannot
report for a batch). Rows that nothing in the transaction reads back by id (a case
event, an audit event, a timer) and updates to rows it does not read again (a
conversation's new state, a contact's outcome) are kept here instead, and written as one
executemany per table and set of columns when the transaction ends or before something
reads those tables (``Tx.write_pending``). A batch of fifty customers then costs a few
statements where it cost hundreds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.ext.asyncio import AsyncConnection

# Columns whose first value stands: (table, column) -> the SQL that sets it only when the
# row has none yet (in the database, and by ``update`` within the transaction).
KEEP_FIRST: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
    ("contacts", "outcome"): lambda column, value: case((column == "open", value), else_=column),
    ("contacts", "ended_at"): lambda column, value: func.coalesce(column, value),
}


class Deferred:
    """The buffered inserts and updates of one transaction, in the order they came."""

    def __init__(self) -> None:
        self._inserts: list[tuple[Any, dict[str, Any]]] = []  # (table, row)
        self._updates: dict[tuple[Any, int], dict[str, Any]] = {}  # (table, id) -> values

    def __bool__(self) -> bool:
        return bool(self._inserts or self._updates)

    def insert(self, model: Any, **values: Any) -> None:
        self._inserts.append((model.__table__, values))

    def update(self, model: Any, row_id: int, **values: Any) -> None:
        """Later values of a column replace earlier ones, except where ``KEEP_FIRST``."""
        table = model.__table__
        pending = self._updates.setdefault((table, row_id), {})
        for name, value in values.items():
            if (table.name, name) in KEEP_FIRST:
                pending.setdefault(name, value)
            else:
                pending[name] = value

    def clear(self) -> None:
        self._inserts.clear()
        self._updates.clear()

    async def write(self, connection: AsyncConnection) -> None:
        """Inserts first (an update may name a row inserted here), then updates."""
        inserts: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        for table, row in self._inserts:
            inserts.setdefault((table, tuple(row)), []).append(row)
        updates: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        for (table, row_id), values in self._updates.items():
            params = {"_id": row_id, **{f"_{name}": value for name, value in values.items()}}
            updates.setdefault((table, tuple(values)), []).append(params)
        self.clear()
        for (table, _), rows in inserts.items():
            await connection.execute(_insert(table), rows)
        for (table, names), rows in updates.items():
            await connection.execute(_update(table, names), rows)


# Statements are built once per table (and set of columns): a statement object that is
# reused skips its construction and keeps its cache key, and every batch writes these.


@functools.cache
def _insert(table: Any) -> Any:
    return table.insert()


@functools.cache
def _update(table: Any, names: tuple[str, ...]) -> Any:
    values = {}
    for name in names:
        value = bindparam(f"_{name}", type_=table.c[name].type)  # a column's own name is taken
        rule = KEEP_FIRST.get((table.name, name))
        values[name] = rule(table.c[name], value) if rule else value
    return update(table).where(table.c.id == bindparam("_id")).values(values)
