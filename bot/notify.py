"""PostgreSQL LISTEN/NOTIFY: waking a worker the moment the receiving process committed a
message for it, instead of every worker asking the database twenty times a second.

The receiving process sends ``NOTIFY supportbot_inbox`` inside the transaction that
stores messages (PostgreSQL delivers it at commit, never for a rolled-back one). Each
worker listens on a connection of its own. The other way round, a worker's pass sends
``NOTIFY supportbot_outbox`` and the receiving process starts sending the replies at
once instead of at its next outbox poll. A notification only says "look now": the
inbox table stays the truth, so a notification that is lost (a listener reconnecting, a
worker starting) costs at most one fallback poll interval, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import loggers

INBOX = "supportbot_inbox"  # a message was stored for the workers
OUTBOX = "supportbot_outbox"  # a worker queued replies for the receiving process to send
RETRY_SECONDS = 5.0  # between attempts to listen again after the connection was lost


def notify(channel: str) -> TextClause:
    """The statement to run inside a transaction whose commit should wake listeners."""
    return text("SELECT pg_notify(:channel, '')").bindparams(channel=channel)


class Wakeup:
    """Set by every NOTIFY on one channel. ``listening`` is False while there is no
    listening connection (callers then poll faster); ``wait`` tries to listen again."""

    def __init__(self, engine: AsyncEngine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self._event = asyncio.Event()
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection that listens
        self._next_try = 0.0

    @property
    def listening(self) -> bool:
        return self._driver is not None and not self._driver.is_closed()

    async def wait(self, seconds: float) -> None:
        """Until a notification arrived (perhaps before the call) or ``seconds`` passed."""
        await self._listen()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(DBAPIError, OSError):
                await self._conn.invalidate()  # never hand a listening connection back
            self._conn = self._driver = None

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        if self.listening or loop.time() < self._next_try:
            return
        await self.close()
        self._next_try = loop.time() + RETRY_SECONDS
        try:
            conn = await self.engine.connect()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.add_listener(self.channel, self._notified)
        except (DBAPIError, OSError) as exc:
            loggers.engine.warning("cannot listen for %s, polling: %s", self.channel, exc)
            return
        self._conn, self._driver = conn, driver
        self._event.set()  # anything committed while we were not listening: look once

    def _notified(self, *_: object) -> None:
        self._event.set()


async def kick_on_notify(
    engine: AsyncEngine, channel: str, kick: Callable[[], None], *, poll: float = 60.0
) -> None:
    """Until cancelled: ``kick()`` on every NOTIFY on ``channel`` (and every ``poll``
    seconds); the caller's own polling stays the safety net."""
    wakeup = Wakeup(engine, channel)
    try:
        while True:
            await wakeup.wait(poll if wakeup.listening else RETRY_SECONDS)
            kick()
    finally:
        await wakeup.close()
