"""What ``supportbot health`` reads: the processes' heartbeats and what is waiting.

Three small statements, whatever the size of the database: the outbox's pending rows are
found through its ``status`` index, and the inbox only holds what is not processed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Cursor, InboxItem, OutboxItem


@dataclass(frozen=True)
class Waiting:
    """Rows waiting in a queue: how many, since when, how many failed once or more."""

    count: int
    oldest: datetime | None
    failing: int = 0


async def beats(session: AsyncSession, prefix: str) -> list[tuple[str, str, datetime]]:
    """(name without the prefix, value, written at) of every heartbeat."""
    stmt = select(Cursor.name, Cursor.value, Cursor.updated_at).where(
        Cursor.name.startswith(prefix, autoescape=True)
    )
    return [(name[len(prefix) :], value, at) for name, value, at in await session.execute(stmt)]


async def forget_beat(session: AsyncSession, name: str) -> bool:
    """Remove one heartbeat (a role that was retired); True if there was one."""
    result = await session.execute(delete(Cursor).where(Cursor.name == name))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def outbox_waiting(session: AsyncSession) -> Waiting:
    """Replies and desk notices not sent yet."""
    stmt = select(
        func.count(), func.min(OutboxItem.created_at),
        func.count().filter(OutboxItem.attempts > 0),
    ).where(OutboxItem.status == "pending")  # fmt: skip
    count, oldest, failing = (await session.execute(stmt)).one()
    return Waiting(count, oldest, failing)


async def inbox_waiting(session: AsyncSession) -> Waiting:
    """Customers' messages received but not processed by a worker yet."""
    stmt = select(func.count(), func.min(InboxItem.received_at))
    count, oldest = (await session.execute(stmt)).one()
    return Waiting(count, oldest)
