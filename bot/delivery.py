"""Delivering the outbox: each message is sent after its transaction committed, and
marked sent right after the channel accepted it.

Messages to one address (a customer's chat, a desk) go one at a time and in id order
(of those waiting: with several processes writing, a row can commit after a bigger id
was sent, and goes next); different addresses are served concurrently, so a slow or
rate-limited chat never holds up the others. A message that fails stays pending (the
error is recorded; an error no channel should raise, a bug, is logged with its
traceback as well) and the messages behind it wait: a customer never sees replies out
of order, and nothing is dropped. The address is retried after a backoff, or after the
wait a channel asked for (``RetryLater``, e.g. a 429's retry_after).

Two things keep the database out of the way under load. Rows the engine has just
committed are handed over in memory (``enqueue``), so they are not selected again; and
"sent" marks are written in groups by one task (``_Marks``), one UPDATE for everything
sent since the last one (a mark waits ``MARK_LINGER`` for company). Delivery is
therefore at-least-once in the short window between a channel accepting a message and
its mark being committed: a crash there sends that message again on the next start.
Ids queued, in flight or awaiting their mark are remembered (``_known``), so a
concurrent ``deliver`` pass never sends one twice.

A send whose outcome is unknown (``DeliveryUncertain``: the request went out and no
answer came back, so the channel may have shown the message) is tried once more, and
only once: were it retried until an answer came, a slow platform that kept accepting
and timing out would show the customer the same reply again and again. If the second
try is as uncertain, the row is given up as ``uncertain`` (never sent again, logged,
marked with its message in the customer's export) and the address goes on with the
next message, so one lost answer does not hold up the chat. Notices to the agents'
desks are the exception: they are retried like any failure, as a second card in the
desk is better than a case no agent was told about.

What a sender learns while sending that must be stored (where a desk put a case: a
Telegram topic, a Slack thread) it returns as an ``AfterSent``, which is written with
the message's "sent" mark, in the same transaction: a message counts as sent exactly
when what it created is on record, and neither costs a transaction of its own. A crash
before they land sends the message again, which creates the thing again (a second
topic): the same window as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

from bot import loggers
from bot.errors import ChannelError, SupportBotError
from bot.messages import Reply
from bot.storage.outbox_rows import OutboxRow
from bot.storage.repository import DESK_CHANNEL, Repository, Tx

MAX_BACKOFF = 60.0
# How long a "sent" mark waits for others to share its transaction (each is a write
# transaction with an fsync). It widens the window in which a crash sends a message
# again by as much; a full ``deliver`` (a clean stop, tests) does not wait for it.
MARK_LINGER = 0.05
Target = tuple[str, str]  # (channel, address)
# Writes a sender asks for once its message went out, e.g. a desk's new topic (see above).
AfterSent = Callable[[Tx, datetime], Awaitable[None]]


class RetryLater(ChannelError):
    """The channel asks us to wait ``seconds`` before sending to this address again."""

    def __init__(self, seconds: float, reason: str = "rate limited") -> None:
        super().__init__(f"{reason}; retry in {seconds:.0f}s")
        self.seconds = seconds


class DeliveryUncertain(ChannelError):
    """The channel may have taken the message: the request was sent and no answer came
    (a timeout, the connection closed under it). Tried once more at most (see above)."""


UNCERTAIN = "uncertain: "  # ``last_error`` of a row whose send was uncertain once


class Sender(Protocol):
    """One channel's way out (a terminal, Telegram, Slack, an agents' desk). ``send``
    returns None, or what to store with the message's "sent" mark (``AfterSent``)."""

    async def send(self, address: str, reply: Reply) -> AfterSent | None: ...


@dataclass
class Tally:
    """Sends since the process started: delivered, failed tries, given up as uncertain."""

    sent: int = 0
    failures: int = 0
    uncertain: int = 0


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
        self._queues: dict[Target, list[tuple[int, OutboxRow]]] = {}  # heaps by id
        self._known: set[int] = set()  # queued, in flight, or sent and not yet marked
        self._busy: dict[Target, asyncio.Task[int]] = {}
        self._not_before: dict[Target, tuple[float, int]] = {}  # monotonic time, failures
        self._selecting = 0
        self._marks = _Marks(repo, now, self._known, lambda: self._selecting > 0)
        self.tally = Tally()  # what this process sent, for ``/metrics``

    def enqueue(self, items: Iterable[OutboxRow]) -> None:
        """Take committed rows (ours only) and start sending them. Only the addresses of
        these rows are looked at (with thousands of chats, a turn must not walk them all);
        an address waiting to retry is started again when a delivery pass selects its
        rows, which are still pending."""
        touched: set[Target] = set()
        for item in items:
            if item.channel not in self.senders:
                continue
            if self.address is not None and item.address != self.address:
                continue
            target = (item.channel, item.address)
            touched.add(target)
            if item.id in self._known:
                continue
            self._known.add(item.id)
            heapq.heappush(self._queues.setdefault(target, []), (item.id, item))
        self._start(touched)

    def _start(self, targets: Iterable[Target]) -> None:
        for target in targets:
            queue = self._queues.get(target)
            if queue and target not in self._busy and not self._waiting(target):
                task = asyncio.create_task(self._drain(target))
                self._busy[target] = task
                task.add_done_callback(functools.partial(self._finished, target))

    async def deliver(self, only: Collection[Target] | None = None, *, wait: bool = True) -> int:
        """Start sending everything pending for our channels (also what other processes
        queued), and wait for the addresses in ``only`` (all when None; none when
        ``wait`` is False). Returns how many of the awaited deliveries were sent."""
        if not self.senders:
            return 0
        if not self._selecting:  # no select in flight could still see these as pending
            self._marks.forget_retired()
        self._selecting += 1
        try:
            async with self.repo.transaction() as tx:
                items = await tx.pending_outbox(
                    list(self.senders), self.address, limit=1000, known=self._known
                )
            self.enqueue(items)
            self._start(list(self._queues))  # retries whose wait is over, whatever was selected
        finally:
            self._selecting -= 1
        if not wait:
            return 0
        sent = await self.deliver_queued(only)
        if only is None:
            await self._marks.flush()
        return sent

    async def deliver_queued(self, only: Collection[Target] | None = None) -> int:
        """Wait until what is queued in memory for these addresses was sent."""
        if only is None:
            awaited = list(self._busy.values())
        else:  # one chat's among thousands: look it up, do not scan them all
            awaited = [t for key in set(only) if (t := self._busy.get(key)) is not None]
        return sum(await asyncio.gather(*awaited))

    async def stop(self) -> None:
        """Stop in-flight deliveries (their messages stay pending for the next start)."""
        for task in list(self._busy.values()):
            task.cancel()
        await asyncio.gather(*self._busy.values(), return_exceptions=True)

    async def close(self) -> None:
        """``stop``, then write the marks of what was already sent. Marks need a write
        transaction: whoever holds one (SQLite's single writer) must let it go first."""
        await self.stop()
        await self._marks.close()

    def queued(self) -> int:
        """Rows in this process's send queues (for ``/metrics``)."""
        return sum(map(len, self._queues.values()))

    def _finished(self, target: Target, task: asyncio.Task[int]) -> None:
        if self._busy.get(target) is task:
            del self._busy[target]

    def _waiting(self, target: Target) -> bool:
        until, _ = self._not_before.get(target, (0.0, 0))
        return time.monotonic() < until

    async def _drain(self, target: Target) -> int:
        queue = self._queues[target]
        sent = 0
        while queue:
            entry = queue[0]
            item = entry[1]
            outcome, after = await self._send_one(target, item)
            if outcome == "retry":
                return sent  # stays in line; a later pass retries after the wait
            _take_out(queue, entry)
            if outcome == "sent":
                self._marks.add(item.id, after)
                sent += 1
                self.tally.sent += 1
            else:  # given up as uncertain, on record already: no longer ours to send
                self._known.discard(item.id)
                self.tally.uncertain += 1
        del self._queues[target]
        self._not_before.pop(target, None)
        return sent

    async def _send_one(
        self, target: Target, item: OutboxRow
    ) -> tuple[Literal["sent", "retry", "uncertain"], AfterSent | None]:
        try:
            after = await self.senders[target[0]].send(item.address, Reply.from_json(item.payload))
        except DeliveryUncertain as exc:
            if target[0] == DESK_CHANNEL:  # a second card beats a case no agent was told of
                return await self._failed(target, item, exc), None
            if _was_uncertain(item):
                return await self._give_up(target, item, exc), None
            return await self._failed(target, item, exc, UNCERTAIN), None
        except Exception as exc:  # a sender's bug must not end the drain either
            if not isinstance(exc, ChannelError | OSError):
                loggers.delivery.exception("outbox %s to %s: unexpected error", item.id, target[0])
            # An earlier uncertain try stays on record, or a restart would grant a third.
            mark = UNCERTAIN if _was_uncertain(item) else ""
            return await self._failed(target, item, exc, mark), None
        return "sent", after

    async def _failed(
        self, target: Target, item: OutboxRow, exc: Exception, prefix: str = ""
    ) -> Literal["retry"]:
        """Record the failure, in the database and in the row waiting in line; the address
        waits (backoff, or as the channel asked)."""
        _, failures = self._not_before.get(target, (0.0, 0))
        backoff = min(2.0**failures, MAX_BACKOFF) if failures else 0.0  # first retry: at once
        wait = exc.seconds if isinstance(exc, RetryLater) else backoff
        self._not_before[target] = (time.monotonic() + wait, failures + 1)
        loggers.delivery.warning(
            "outbox %s to %s failed, retrying in %.0fs: %s", item.id, target[0], wait, exc
        )
        error = prefix + str(exc)
        self.tally.failures += 1
        async with self.repo.transaction() as tx:
            await tx.mark_failed(item.id, error)
        queue = self._queues[target]  # the same id, so the heap's order holds
        at = next(i for i, (_, row) in enumerate(queue) if row is item)
        queue[at] = (item.id, replace(item, attempts=item.attempts + 1, last_error=error))
        return "retry"

    async def _give_up(
        self, target: Target, item: OutboxRow, exc: DeliveryUncertain
    ) -> Literal["uncertain"]:
        """The second uncertain send: on record as such, never sent a third time."""
        loggers.delivery.warning(
            "outbox %s to %s: delivery uncertain twice, not sent again: %s", item.id, target[0],
            exc,
        )  # fmt: skip
        async with self.repo.transaction() as tx:
            await tx.mark_failed(item.id, UNCERTAIN + str(exc), uncertain=True)
        return "uncertain"


def _was_uncertain(item: OutboxRow) -> bool:
    """A send of this row had no answer before (in this process, or before a restart)."""
    return (item.last_error or "").startswith(UNCERTAIN)


def _take_out(queue: list[tuple[int, OutboxRow]], entry: tuple[int, OutboxRow]) -> None:
    """Remove the entry just sent. It was first in line when its sending began, but a
    row with a smaller id may have been queued meanwhile: ids are taken when rows are
    inserted, so a worker's row can commit after a bigger id of another process was
    queued. Popping the smallest then would drop that row unsent and send this one
    again."""
    if queue[0] is entry:
        heapq.heappop(queue)
    else:
        queue.remove(entry)
        heapq.heapify(queue)


class _Marks:
    """Writes "sent" marks in groups: one UPDATE for everything sent meanwhile.

    Marks wait ``MARK_LINGER`` for company. Then, if a transaction is under way (under
    load there nearly always is: a batch of customers' messages, a desk action), they
    ride along with it (``Repository.riders``) rather than take the writer for a
    transaction of their own (one that ends without taking them, being past its end
    already, leaves them to the next); with none under way, they get their own. The
    senders' ``AfterSent`` writes go with the marks of their messages."""

    def __init__(
        self, repo: Repository, now: Callable[[], datetime], known: set[int],
        selecting: Callable[[], bool],
    ) -> None:  # fmt: skip
        self.repo = repo
        self.now = now
        self.known = known
        self.selecting = selecting
        self.closing = False
        self._ids: list[int] = []
        self._afters: list[AfterSent] = []  # with ``_ids``: written with their marks
        self._retired: list[int] = []  # marked; dropped from ``known`` between selects
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # set: write now, do not linger
        self._due: list[int] = []  # lingered long enough: the next transaction takes them
        self._due_afters: list[AfterSent] = []
        self._landed = asyncio.Event()
        repo.riders.append(self)

    def add(self, item_id: int, after: AfterSent | None = None) -> None:
        self._ids.append(item_id)
        if after is not None:
            self._afters.append(after)
        if self._task is None or self._task.done():
            self._hurry.clear()
            self._task = asyncio.create_task(self._write())

    def forget_retired(self) -> None:
        self.known.difference_update(self._retired)
        self._retired.clear()

    async def flush(self) -> None:
        self._hurry.set()
        self._landed.set()  # stop waiting for a transaction to ride with
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        self.closing = True
        await self.flush()
        if self in self.repo.riders:
            self.repo.riders.remove(self)

    async def ride(self, tx: Tx) -> Callable[[bool], None] | None:
        if not self._due:
            return None
        batch, self._due = self._due, []
        afters, self._due_afters = self._due_afters, []
        try:
            now = self.now()
            await tx.mark_sent(batch, now)
            for after in afters:
                await after(tx, now)
        except BaseException:
            self._settle(batch, afters, False)
            raise
        return functools.partial(self._settle, batch, afters)

    def _settle(self, batch: list[int], afters: list[AfterSent], committed: bool) -> None:
        if not committed:  # rolled back with the transaction: they wait for the next one
            self._due[:0] = batch
            self._due_afters[:0] = afters
        elif self.selecting():  # a select in flight may still have seen them pending
            self._retired.extend(batch)
        else:
            self.known.difference_update(batch)
        self._landed.set()

    async def _write(self) -> None:
        while self._ids:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), MARK_LINGER)
            self._due.extend(self._ids)  # marks sent meanwhile wait for the next round
            self._due_afters.extend(self._afters)
            self._ids.clear()
            self._afters.clear()
            while self._due:
                if self.repo.busy and not self._hurry.is_set():
                    self._landed.clear()  # a transaction is under way: ride with it
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._landed.wait(), MARK_LINGER)
                    continue
                try:
                    async with self.repo.transaction():
                        pass  # the marks ride along (``ride``), with other outboxes' due ones
                except SupportBotError as exc:  # e.g. a busy database: keep them, try again
                    loggers.delivery.warning("outbox: marking %d sent postponed: %s",
                                             len(self._due), exc)  # fmt: skip
                    if self.closing:  # they will be sent again by the next start
                        return
                    await asyncio.sleep(1.0)
