"""Delivering the outbox: each message is sent after its transaction committed, and
marked sent right after the channel accepted it.

Messages to one address (a customer's chat, a desk) go one at a time and in order;
different addresses are served concurrently, so a slow or rate-limited chat never holds
up the others. A message that fails stays pending (the error is recorded) and the
messages behind it wait: a customer never sees replies out of order, and nothing is
dropped. The address is retried after a backoff, or after the wait a channel asked for
(``RetryLater``, e.g. a 429's retry_after). Delivery is at-least-once only in the window
between a channel accepting a message and the mark being written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Protocol

from bot import loggers
from bot.errors import ChannelError
from bot.messages import Reply
from bot.storage.models import OutboxItem
from bot.storage.repository import Repository

MAX_BACKOFF = 60.0
Target = tuple[str, str]  # (channel, address)


class RetryLater(ChannelError):
    """The channel asks us to wait ``seconds`` before sending to this address again."""

    def __init__(self, seconds: float, reason: str = "rate limited") -> None:
        super().__init__(f"{reason}; retry in {seconds:.0f}s")
        self.seconds = seconds


class Sender(Protocol):
    """One channel's way out (a terminal, Telegram, Slack, an agents' desk)."""

    async def send(self, address: str, reply: Reply) -> None: ...


class Outbox:
    def __init__(
        self,
        repo: Repository,
        senders: Mapping[str, Sender],
        now: Callable[[], datetime],
        *,
        address: str | None = None,
    ) -> None:
        self.repo = repo
        self.senders = dict(senders)
        self.now = now
        self.address = address
        self._busy: dict[Target, asyncio.Task[int]] = {}
        self._not_before: dict[Target, tuple[float, int]] = {}  # monotonic time, failures

    async def deliver(self, only: Collection[Target] | None = None, *, wait: bool = True) -> int:
        """Start sending everything pending for our channels, and wait for the addresses
        in ``only`` (all when None; none when ``wait`` is False). Returns how many of the
        awaited deliveries were sent. Handling one customer's message waits for that
        customer's replies only: a slow or rate-limited address never holds up another
        caller."""
        if not self.senders:
            return 0
        async with self.repo.transaction() as tx:
            items = await tx.pending_outbox(list(self.senders), self.address, limit=1000)
        for target in dict.fromkeys((i.channel, i.address) for i in items):
            if target in self._busy or self._waiting(target):
                continue  # its running task picks up the new messages too
            task = asyncio.create_task(self._drain(target))
            self._busy[target] = task
            task.add_done_callback(self._finished)
        if not wait:
            return 0
        awaited = [t for key, t in self._busy.items() if only is None or key in only]
        return sum(await asyncio.gather(*awaited))

    async def close(self) -> None:
        """Stop in-flight deliveries (their messages stay pending for the next start)."""
        for task in list(self._busy.values()):
            task.cancel()
        await asyncio.gather(*self._busy.values(), return_exceptions=True)

    def _finished(self, task: asyncio.Task[int]) -> None:
        for target, running in list(self._busy.items()):
            if running is task:
                del self._busy[target]

    def _waiting(self, target: Target) -> bool:
        until, _ = self._not_before.get(target, (0.0, 0))
        return time.monotonic() < until

    async def _drain(self, target: Target) -> int:
        channel, address = target
        sent = 0
        while True:
            async with self.repo.transaction() as tx:
                items = await tx.pending_outbox([channel], address, limit=50)
            if not items:
                self._not_before.pop(target, None)
                return sent
            for item in items:
                if not await self._send_one(target, item):
                    return sent
                sent += 1

    async def _send_one(self, target: Target, item: OutboxItem) -> bool:
        try:
            await self.senders[target[0]].send(item.address, Reply.from_json(item.payload))
        except (ChannelError, OSError) as exc:
            _, failures = self._not_before.get(target, (0.0, 0))
            backoff = min(2.0**failures, MAX_BACKOFF) if failures else 0.0  # first retry: at once
            wait = exc.seconds if isinstance(exc, RetryLater) else backoff
            self._not_before[target] = (time.monotonic() + wait, failures + 1)
            loggers.delivery.warning(
                "outbox %s to %s failed, retrying in %.0fs: %s", item.id, target[0], wait, exc
            )
            async with self.repo.transaction() as tx:
                await tx.mark_failed(item.id, str(exc))
            return False
        async with self.repo.transaction() as tx:
            await tx.mark_sent([item.id], self.now())
        return True
