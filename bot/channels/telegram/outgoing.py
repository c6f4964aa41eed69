"""Delivering the outbox from the Telegram process, without making anyone wait.

The engine commits replies as outbox rows and hands them over in memory (``take``):
each outbox (customers, and the forum desk when agents are on Telegram) starts sending
them at once. Passes run every ``poll`` seconds (and on a ``kick``), for rows other
processes wrote (an agent's reply from the Slack desk or the console) and for retries
after a 429. The engine's timers (follow-ups, idle chats, SLAs) run on their own
schedule, beside the passes.

A pass only selects what is pending and hands it to the outbox, which sends each address
with its own task; it does not wait for the sending. So a paced or rate-limited chat slows
down only itself, never receiving and never the other chats, and a pass is short. Each
outbox has one loop, so its passes never overlap: kicks that arrive during a pass are
coalesced into one more pass right after it. (Passes used to be started on every kick and
to wait for every send they had started, so under load hundreds were alive at once, each
holding the rows it had selected: the process grew past a gigabyte.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from bot import loggers
from bot.app import App
from bot.delivery import Outbox
from bot.errors import SupportBotError
from bot.notify import OUTBOX, kick_on_notify
from bot.storage.outbox_rows import OutboxRow

DELIVERY_POLL = 0.3


class Delivery:
    """Sends what the outboxes hold, without ever making a caller wait for it."""

    def __init__(self, outboxes: list[Outbox], app: App, *, poll: float = DELIVERY_POLL) -> None:
        self.outboxes = outboxes
        self.app = app
        self.poll = poll
        self._wakes = [asyncio.Event() for _ in outboxes]
        self._passed = asyncio.Condition()  # notified after every pass
        self._primed = [False for _ in outboxes]  # a first pass has selected what was pending
        self._passes = 0

    def kick(self) -> None:
        for wake in self._wakes:
            wake.set()

    def take(self, items: Sequence[OutboxRow]) -> None:
        """Rows this process's engine just committed: each outbox starts sending its own
        at once (``Engine.committed``). Passes then only look for what other processes
        wrote and for retries; they used to run after every update and select every
        pending row again, rows already being sent included. Until an outbox's first
        pass has selected what an earlier run left pending, it takes nothing in memory
        (a new reply must not overtake an older one): a pass is kicked instead."""
        for outbox, primed in zip(self.outboxes, self._primed, strict=True):
            if primed:
                outbox.enqueue(items)
            else:
                self.kick()

    async def run(self) -> None:
        """Until cancelled: one loop per outbox, passing on each kick (or every ``poll``
        seconds), and the timers' loop."""
        async with asyncio.TaskGroup() as loops:
            loops.create_task(self._timers())
            if self.app.settings.processing == "workers":  # replies come from the workers
                loops.create_task(kick_on_notify(self.app.repo.engine, OUTBOX, self.kick))
            for index, wake in enumerate(self._wakes):
                loops.create_task(self._deliver(index, wake))

    async def _deliver(self, index: int, wake: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.poll)
            wake.clear()  # kicks from now on are seen by the next pass
            self._primed[index] |= await self._pass(self.outboxes[index])
            async with self._passed:
                self._passes += 1
                self._passed.notify_all()

    async def _pass(self, outbox: Outbox) -> bool:
        """Start sending what is pending; True if the select went through."""
        try:
            await outbox.deliver(wait=False)  # the outbox's per-address tasks send
        except SupportBotError as exc:
            loggers.channels.warning("telegram: delivery postponed: %s", exc)
        except Exception:  # a bug: the rows stay pending, the next pass tries again
            loggers.channels.exception("telegram: delivery pass failed")
        else:
            return True
        return False

    async def _timers(self) -> None:
        while True:
            try:
                if await self.app.engine.fire_due_timers():
                    self.kick()
            except SupportBotError as exc:
                loggers.channels.warning("telegram: timers postponed: %s", exc)
            except Exception:  # a bug: keep delivering, try again on the next tick
                loggers.channels.exception("telegram: timers failed")
            await asyncio.sleep(self.app.settings.timing.timer_poll_seconds)

    async def wait_idle(self) -> None:
        """Until nothing is pending in our outboxes (for a clean stop, and for tests).

        Passes do not wait for the sends they start, so this does: it waits for every
        send in flight (and its "sent" mark), then looks in the database. What is still
        pending there is waiting for a retry, or was written after the last pass; a later
        pass starts it, so we wait for one and look again. Needs ``run``."""
        while True:
            passes = self._passes
            for outbox in self.outboxes:
                await self._settle(outbox)
            if await self._all_sent():
                return
            await self._pass_after(passes)

    async def _settle(self, outbox: Outbox) -> None:
        # A full ``deliver`` waits for every address being sent and writes the marks;
        # the outbox never sends a row twice, so it may run alongside the passes.
        try:
            await outbox.deliver()
        except SupportBotError as exc:  # the rows stay pending; a later pass retries
            loggers.channels.warning("telegram: delivery postponed: %s", exc)

    async def _pass_after(self, passes: int) -> None:
        """Until a pass ends after the first ``passes`` (at once if one has)."""
        async with self._passed:
            await self._passed.wait_for(lambda: self._passes > passes)

    async def _all_sent(self) -> bool:
        async with self.app.repo.transaction() as tx:
            for outbox in self.outboxes:
                if await tx.pending_outbox(list(outbox.senders), outbox.address, limit=1):
                    return False
        return True
