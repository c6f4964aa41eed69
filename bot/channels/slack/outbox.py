"""The outbox, sent in the background so that answering Slack never waits for sending.

``Engine`` and ``Desk`` call ``outbox.deliver(...)`` right after their transaction
commits, and by default wait for that conversation's replies to go out. At Slack's pace
(about one message a second per channel, longer after a 429) that could take longer than
the 3 seconds Slack gives us to answer, so for Slack that call only wakes the pump: the
request is answered as soon as the event is recorded, and the pump starts sending, in the
usual order per address.

Customers' channels (Slack DMs, and e.g. Telegram in tests) are sent for every address;
desk notices only for the Slack desk's address, so notices queued for another desk are
left to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime

from bot import loggers
from bot.delivery import Outbox, Sender, Target
from bot.errors import SupportBotError
from bot.storage.outbox_rows import OutboxRow
from bot.storage.repository import Repository


class PumpedOutbox(Outbox):
    def __init__(
        self, repo: Repository, senders: Mapping[str, Sender], now: Callable[[], datetime], *,
        desk: Sender | None = None, desk_address: str = "slack",
    ) -> None:  # fmt: skip
        super().__init__(repo, senders, now)
        self.desk = Outbox(repo, {"desk": desk}, now, address=desk_address) if desk else None
        self._wake = asyncio.Event()

    async def deliver(self, only: Collection[Target] | None = None, *, wait: bool = True) -> int:
        """Wake the pump; the caller never waits for sending."""
        self.wake()
        return 0

    def wake(self) -> None:
        self._wake.set()

    async def deliver_queued(self, only: Collection[Target] | None = None) -> int:
        return 0  # never wait: Slack's 3 seconds are for answering, not sending

    def enqueue(self, items: Iterable[OutboxRow]) -> None:
        items = list(items)
        super().enqueue(items)
        if self.desk is not None:
            self.desk.enqueue(items)

    async def pump(self) -> None:
        """Until cancelled: on every wake-up, start sending what is pending. Starting
        does not wait for sending (addresses are drained by their own tasks)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await super().deliver(wait=False)
                if self.desk is not None:
                    await self.desk.deliver(wait=False)
            except SupportBotError as exc:  # e.g. a busy database: the next wake-up
                loggers.delivery.warning("slack: delivery postponed: %s", exc)

    async def stop(self) -> None:
        await super().stop()
        if self.desk is not None:
            await self.desk.stop()

    async def close(self) -> None:
        """Stop sending; what was not sent stays pending for the next start."""
        await super().close()
        if self.desk is not None:
            await self.desk.close()
