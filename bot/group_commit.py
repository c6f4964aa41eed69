"""Group commit: messages that arrive while a transaction is running share the next one.

At light load a message finds its lane idle and is committed at once, alone, so nothing
waits for company. Under load, every message that arrived while the previous batch was
being written goes into one transaction together, so the fixed cost of a commit (a
thread hop per statement on SQLite, a round trip and an fsync on either database) is
paid once per batch instead of once per message. Callers still get their own answer:
``submit`` returns when *their* message is durable.

Lanes let PostgreSQL write several batches at once. An item always goes to the same lane
(``lane_of``), so one conversation's messages are processed in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot import loggers

T = TypeVar("T")
R = TypeVar("R")

Process = Callable[[list[T]], Awaitable[list[R | BaseException]]]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        process: Process[T, R],
        *,
        lane_of: Callable[[T], Hashable] = lambda _: 0,
        lanes: int = 1,
        max_batch: int = 256,
    ) -> None:
        self._process = process
        self._lane_of = lane_of
        self._max_batch = max_batch
        self._queues: list[list[tuple[T, asyncio.Future[R]]]] = [[] for _ in range(lanes)]
        self._wake = [asyncio.Event() for _ in range(lanes)]
        self._tasks: list[asyncio.Task[None]] = []
        self.batches = 0  # how many transactions ran, and how many items they held:
        self.items = 0  # items / batches is the mean batch size (the benchmark prints it)

    @property
    def waiting(self) -> int:
        """Items queued for a transaction that has not started yet (for ``/metrics``)."""
        return sum(map(len, self._queues))

    async def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch has committed."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._lane(n), name=f"group-commit-{n}")
                for n in range(len(self._queues))
            ]
        lane = hash(self._lane_of(item)) % len(self._queues)
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queues[lane].append((item, future))
        self._wake[lane].set()
        return await future

    async def close(self) -> None:
        """Stop the lanes; whatever is still queued fails with ``CancelledError``."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for queue in self._queues:
            for _, future in queue:
                future.cancel()
            queue.clear()

    async def _lane(self, lane: int) -> None:
        queue, wake = self._queues[lane], self._wake[lane]
        while True:
            await wake.wait()
            wake.clear()
            while queue:
                batch = queue[: self._max_batch]
                del queue[: self._max_batch]
                await self._run(batch)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await self._process([item for item, _ in batch])
        except Exception as exc:  # the whole batch failed (e.g. the database is down)
            loggers.engine.debug("batch of %d failed: %s", len(batch), exc)
            results = [exc] * len(batch)
        except BaseException:  # closed (cancelled) halfway: nobody waits for ever
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (cancelled); the item was processed
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
