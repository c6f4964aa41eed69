"""Writes that wait for the end of a batch (part of the repository layer).

On SQLite every statement is a hop to the driver's thread, and the ORM writes the rows
it tracks one statement each (it wants every new id back, which SQLite's RETURNING does
not promise in order, and it checks each UPDATE's row count, which SQLite's driver cannot
report for a batch). Rows that nothing in the transaction reads back by id (a case
event, an audit event, a timer) and updates to rows it does not read again (a
conversation's new state, a contact's outcome) are kept here instead, and written as one
executemany per table when the transaction ends or before something reads those tables
(``Tx.write_pending``). A batch of fifty customers then costs a few statements where it
cost hundreds. Updates of one table that set different columns (one contact gets its
category, another its outcome and end) share one statement too: each row says which of
the columns it sets, and the others keep their value.

Rows whose id the dialogue keeps for later (a contact, a knowledge-base query, a rating:
their outcome is written turns later) are buffered too (``insert_returning``): the
caller gets a placeholder, far below any real id, and the rows of one table are written
with one multi-row INSERT .. RETURNING. Every placeholder in the buffered rows and
updates, the conversations' saved data included, is then replaced by the real id before
they are written; the transaction remembers the pairs, so a placeholder kept in memory
by a later turn of the same batch still finds its row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, bindparam, case, func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import loggers
from bot.storage.statements import insert_rows, returning_id

PLACEHOLDERS = -(1 << 62)  # placeholders count down from here; real ids are positive
_LEAVES = frozenset({str, float, bool, type(None), datetime})  # never hold a placeholder

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
        self._keyed: list[tuple[Any, dict[str, Any], int]] = []  # (table, row, placeholder)
        self._ids: dict[int, int] = {}  # placeholder -> the id the database gave
        self._last = PLACEHOLDERS

    def __bool__(self) -> bool:
        return bool(self._inserts or self._updates or self._keyed)

    def insert(self, model: Any, **values: Any) -> None:
        self._inserts.append((model.__table__, values))

    def insert_returning(self, model: Any, **values: Any) -> int:
        """Buffer a row whose id the caller keeps: a placeholder for it now, replaced by
        the real id wherever it appears in what this transaction writes."""
        self._last -= 1
        self._keyed.append((model.__table__, values, self._last))
        return self._last

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
        self._keyed.clear()

    async def write(self, connection: AsyncConnection) -> None:
        """Rows whose ids were promised first, then the other inserts (an update may name
        a row inserted here), then updates."""
        keyed: dict[tuple[Any, tuple[str, ...]], list[tuple[dict[str, Any], int]]] = {}
        for table, row, placeholder in self._keyed:
            keyed.setdefault((table, tuple(row)), []).append((row, placeholder))
        self._keyed.clear()
        for (table, _), entries in keyed.items():
            result = await connection.execute(returning_id(table), [row for row, _ in entries])
            # Ids come in row order (see ``Tx.write_messages``): sorted, they pair up.
            for (_, placeholder), row_id in zip(entries, sorted(result.scalars()), strict=True):
                self._ids[placeholder] = row_id
        resolve = self._resolve if self._last != PLACEHOLDERS else _same  # none given: as is
        inserts: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        for table, row in self._inserts:
            inserts.setdefault((table, tuple(row)), []).append(resolve(row))
        updates: dict[Any, dict[tuple[str, ...], list[dict[str, Any]]]] = {}
        for (table, row_id), values in self._updates.items():
            if row_id < PLACEHOLDERS and row_id not in self._ids:
                _lost(row_id)  # its row was rolled back (a savepoint): nothing to update
                continue
            params = {"_id": row_id, **{f"_{name}": value for name, value in values.items()}}
            shapes = updates.setdefault(table, {})
            shapes.setdefault(tuple(values), []).append(resolve(params))
        self.clear()
        for (table, _), rows in inserts.items():
            await connection.execute(insert_rows(table), rows)
        for table, shapes in updates.items():
            if len(shapes) == 1:
                [(names, rows)] = shapes.items()
                await connection.execute(_update(table, names), rows)
                continue
            names = tuple(c.name for c in table.c if any(c.name in shape for shape in shapes))
            mixed = [_setting(names, shape, row) for shape, some in shapes.items() for row in some]
            await connection.execute(_update_some(table, names), mixed)

    def _resolve(self, value: Any) -> Any:
        """``value`` with every placeholder replaced by its row's id (in nested data too).
        Texts and times, most of a row, are passed over without a call."""
        if type(value) is int:
            if value >= PLACEHOLDERS:
                return value
            if value not in self._ids:  # its row was rolled back: never store a placeholder
                _lost(value)
                return None
            return self._ids[value]
        resolve = self._resolve
        if isinstance(value, dict):
            return {k: v if type(v) in _LEAVES else resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [v if type(v) in _LEAVES else resolve(v) for v in value]
        return value


def _setting(names: tuple[str, ...], shape: tuple[str, ...], row: dict[str, Any]) -> dict[str, Any]:
    """``row`` for ``_update_some``: which of ``names`` it sets, and None for the others."""
    params = {"_id": row["_id"]}
    for name in names:
        params[f"_set_{name}"] = name in shape
        params[f"_{name}"] = row.get(f"_{name}")
    return params


def _same(value: Any) -> Any:
    return value


def _lost(placeholder: int) -> None:
    loggers.storage.warning("deferred: placeholder id %s has no row (rolled back); dropped",
                            placeholder)  # fmt: skip


# Statements are built once per table (and set of columns): a statement object that is
# reused skips its construction and keeps its cache key, and every batch writes these.


def _new_value(table: Any, name: str) -> Any:
    """What an update sets ``name`` to: the row's ``_<name>`` parameter (a column's own
    name is taken), or where ``KEEP_FIRST`` says so, that only when it has none yet."""
    value = bindparam(f"_{name}", type_=table.c[name].type)
    rule = KEEP_FIRST.get((table.name, name))
    return rule(table.c[name], value) if rule else value


@functools.cache
def _update(table: Any, names: tuple[str, ...]) -> Any:
    values = {name: _new_value(table, name) for name in names}
    return update(table).where(table.c.id == bindparam("_id")).values(values)


@functools.cache
def _update_some(table: Any, names: tuple[str, ...]) -> Any:
    """Like ``_update``, for rows that set different ones of ``names``: a column that a
    row does not set (``_set_<name>`` false) keeps its value."""
    values = {
        name: case((bindparam(f"_set_{name}", type_=Boolean()), _new_value(table, name)),
                   else_=table.c[name])
        for name in names
    }  # fmt: skip
    return update(table).where(table.c.id == bindparam("_id")).values(values)
