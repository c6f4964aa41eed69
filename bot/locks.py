"""Per-conversation locks inside one process.

Events of one conversation run one at a time and in arrival order (asyncio.Lock is
FIFO); different conversations run in parallel. Across processes the database
transaction does the same job (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on
PostgreSQL). Locks are dropped when nobody holds or waits for them, so memory stays
bounded however many customers write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable, Iterable
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @asynccontextmanager
    async def hold_many(self, keys: Iterable[Hashable]) -> AsyncIterator[None]:
        """Hold several keys (a batch of conversations). Always taken in sorted order,
        so two holders of overlapping sets can never wait for each other in a circle."""
        async with contextlib.AsyncExitStack() as stack:
            for key in sorted(set(keys), key=repr):
                await stack.enter_async_context(self.hold(key))
            yield

    def __len__(self) -> int:
        return len(self._locks)
