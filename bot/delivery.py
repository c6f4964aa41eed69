"""Delivering the outbox: each message is sent after its transaction committed, and
marked sent right after the channel accepted it.

A message that fails stays pending (with the error recorded) and later messages to the
same address wait behind it, so a customer never sees replies out of order. Delivery is
at-least-once only in the window between a channel accepting a message and the mark
being written; everything else is exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from bot import loggers
from bot.errors import ChannelError
from bot.messages import Reply
from bot.storage.repository import Repository


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
        self._lock = asyncio.Lock()

    async def deliver(self) -> int:
        """Send what is pending for our channels; returns how many were sent."""
        if not self.senders:
            return 0
        async with self._lock:
            async with self.repo.transaction() as tx:
                items = await tx.pending_outbox(list(self.senders), self.address)
            sent, blocked = 0, set[tuple[str, str]]()
            for item in items:
                target = (item.channel, item.address)
                if target in blocked:
                    continue
                try:
                    await self.senders[item.channel].send(
                        item.address, Reply.from_json(item.payload)
                    )
                except (ChannelError, OSError) as exc:
                    blocked.add(target)
                    loggers.delivery.warning(
                        "outbox %s to %s failed, will retry: %s", item.id, item.channel, exc
                    )
                    async with self.repo.transaction() as tx:
                        await tx.mark_failed(item.id, str(exc))
                    continue
                async with self.repo.transaction() as tx:
                    await tx.mark_sent([item.id], self.now())
                sent += 1
            return sent
