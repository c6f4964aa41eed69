"""Delivering the outbox from the Telegram process, without making anyone wait.

The engine commits replies as outbox rows; handlers only ``kick`` this loop, which runs a
delivery pass for each outbox (customers, and the forum desk when agents are on
Telegram). Passes are also run every ``poll`` seconds, for rows other processes wrote
(an agent's reply from the Slack desk or the console) and for retries after a 429.
Rate-limit pauses therefore slow down only the chat concerned, never receiving.
"""

from __future__ import annotations

import asyncio
import contextlib

from bot import loggers
from bot.app import App
from bot.delivery import Outbox
from bot.errors import SupportBotError

DELIVERY_POLL = 0.3


class Delivery:
    """Sends what the outboxes hold, without ever making a caller wait for it."""

    def __init__(self, outboxes: list[Outbox], app: App, *, poll: float = DELIVERY_POLL) -> None:
        self.outboxes = outboxes
        self.app = app
        self.poll = poll
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._passes: set[asyncio.Task[None]] = set()

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: a delivery pass per outbox on each kick (or every ``poll``
        seconds), and the engine's timers (follow-ups, idle chats) on their schedule."""
        timers_every = self.app.settings.timing.timer_poll_seconds
        since_timers = timers_every
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                self._wake.clear()
                since_timers += loop.time() - started
                if since_timers >= timers_every:
                    since_timers = 0.0
                    await self._timers()
                for outbox in self.outboxes:
                    task = asyncio.create_task(self._pass(outbox))
                    self._passes.add(task)
                    task.add_done_callback(self._passes.discard)
        finally:
            for task in list(self._passes):
                task.cancel()
            await asyncio.gather(*self._passes, return_exceptions=True)

    async def _timers(self) -> None:
        try:
            if await self.app.engine.fire_due_timers():
                self.kick()
        except SupportBotError as exc:
            loggers.channels.warning("telegram: timers postponed: %s", exc)
        except Exception:  # a bug: keep delivering, try again on the next tick
            loggers.channels.exception("telegram: timers failed")

    async def _pass(self, outbox: Outbox) -> None:
        # Passes may overlap: the outbox runs one task per address, so a busy or paced
        # address is skipped here and its running task picks up the new rows.
        try:
            await outbox.deliver()
        except SupportBotError as exc:
            loggers.channels.warning("telegram: delivery postponed: %s", exc)
        except Exception:  # a bug: the rows stay pending, the next pass tries again
            loggers.channels.exception("telegram: delivery pass failed")
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def wait_idle(self) -> None:
        """Until nothing is pending in our outboxes (for a clean stop, and for tests)."""
        async with self._changed:
            while not await self._all_sent():
                await self._changed.wait()

    async def _all_sent(self) -> bool:
        async with self.app.repo.transaction() as tx:
            for outbox in self.outboxes:
                if await tx.pending_outbox(list(outbox.senders), outbox.address, limit=1):
                    return False
        return True
