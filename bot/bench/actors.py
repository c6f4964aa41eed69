"""The people of a bench run, whatever the channel: customers who follow their scripts
and an agent who answers every case, and the log of each customer's chat.

A ``ChatLog`` is the chat as the *platform* sees it: when something was sent to the bot
for this customer (a *cause*: the customer's message or tap, or an agent's action on
their case) and every reply the bot got accepted, with its arrival time. Latency is
measured on it: each reply belongs to the last cause sent before it arrived, and a
cause's latency runs from the moment it was sent to the arrival of its last reply. The
same code serves the local driver (in the bot's process) and the fake platforms (in
their own process), so the figures mean the same on every channel.

Customers wait for the bot's turn to end before their next message, as people do: at
least one reply, then ``quiet`` seconds without another (the platforms' replies come
asynchronously from the outbox; locally the engine returns once they were sent). Told
that a case was opened (whether they asked for a person or the bot handed them over),
they wait for the team's answer and the rating question before writing again. With a
target rate each customer also keeps to its own time slots. Nothing here imports the
engine or a platform library: the fake platform's process stays small.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.bench.scripts import Script

AGENT_NAME = "Bob"
AGENT_TEXT = "Hi, this is Bob from the support team. I have sorted this out for you."
AGENT_THINK = 1.0  # seconds an agent takes to read a new case card before answering
AGENT_LIMIT = 600.0  # seconds a customer waits while the agent is at work on their case
_NOT_WORD = re.compile(r"[\W_]+")
_OPENED = re.compile(r"\b(?:opened|reopened) case #\d+", re.IGNORECASE)


_ASCII_NOT_WORD = {code: None for code in range(128) if not chr(code).isalnum()}


def reply_key(text: str) -> str:
    """A short fingerprint of what a reply says, blind to formatting: the platforms add
    escaping, bold markers and line breaks the database's text does not have. ASCII text
    (most replies) is filtered with ``str.translate``, the same as the expression but
    about six times faster: locally the bench's customers share the bot's process."""
    folded = text.casefold()
    plain = folded.translate(_ASCII_NOT_WORD) if folded.isascii() else _NOT_WORD.sub("", folded)
    return hashlib.blake2b(plain.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic() when the platform accepted the reply
    key: str
    labels: tuple[str, ...]  # its quick-reply buttons
    opened: bool = False  # it says a case was opened: a person will answer

    @property
    def rating(self) -> bool:
        """It asks for the 1-5 rating, which follows every resolution."""
        return {"1", "5"} <= set(self.labels)


@dataclass
class ChatLog:
    chat: str  # the address the bot sends to (a chat id, a DM channel)
    name: str
    causes: list[float] = field(default_factory=list)
    replies: list[Seen] = field(default_factory=list)
    agents: int = 0  # the agent's answers to this customer's cases now in progress
    _news: asyncio.Event = field(default_factory=asyncio.Event)

    def cause(self) -> None:
        self.causes.append(time.monotonic())

    def reply(self, text: str, labels: Sequence[str] = ()) -> None:
        seen = Seen(time.monotonic(), reply_key(text), tuple(labels), bool(_OPENED.search(text)))
        self.replies.append(seen)
        self.poke()

    def poke(self) -> None:
        """Wake everyone waiting on this chat (a reply came, or the agent is done)."""
        news, self._news = self._news, asyncio.Event()
        news.set()

    def with_the_team(self) -> bool:
        """Told a case was opened and not yet asked for a rating: a person will answer."""
        for seen in reversed(self.replies):
            if seen.rating:
                return False
            if seen.opened:
                return True
        return False

    def offered(self) -> tuple[str, ...]:
        """The buttons of the newest reply (a customer answers what is on screen)."""
        return self.replies[-1].labels if self.replies else ()

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> bool:
        """Until ``predicate`` holds (checked on every reply); False after ``within`` s."""
        deadline = time.monotonic() + within
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._news.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    async def team_answered(self, within: float) -> bool:
        """Until the team's answer is in (the rating question that follows the agent's
        resolution). While the agent is at work on it the customer keeps waiting;
        without one, they give up after ``within`` seconds (False)."""
        while self.with_the_team():
            if self.agents:
                if not await self.wait_for(lambda: not self.with_the_team() or not self.agents,
                                           AGENT_LIMIT):  # fmt: skip
                    return False
            elif not await self.wait_for(lambda: not self.with_the_team() or self.agents > 0,
                                         within):  # fmt: skip
                return False
        return True

    async def settle(self, since: int, *, quiet: float, first_within: float) -> bool:
        """Until the bot's turn is over: a reply after the first ``since``, then ``quiet``
        seconds without another. False if no reply came within ``first_within``."""
        if not await self.wait_for(self.more_than(since), first_within):
            return False
        while quiet > 0:
            if not await self.wait_for(self.more_than(len(self.replies)), quiet):
                break
        return True

    def more_than(self, count: int) -> Callable[[], bool]:
        return lambda: len(self.replies) > count

    def latencies(self) -> tuple[list[float], int]:
        """Seconds from each cause to its last reply, and how many causes got none."""
        last: list[float | None] = [None] * len(self.causes)
        for seen in self.replies:
            index = bisect.bisect_right(self.causes, seen.at) - 1
            if index >= 0:
                last[index] = seen.at
        found = [end - start for start, end in zip(self.causes, last, strict=True) if end]
        return found, sum(1 for end in last if end is None)


class Line(Protocol):
    """How one customer reaches the bot: a platform's webhook, or the engine itself."""

    async def say(self, text: str) -> None: ...

    async def tap(self, label: str) -> None: ...


class DeskActions(Protocol):
    """How the agent acts on a case: a post in its topic or thread, its Resolve button."""

    async def reply(self, case: int, text: str) -> None: ...

    async def resolve(self, case: int) -> None: ...


@dataclass(frozen=True)
class Pace:
    quiet: float = 0.1  # silence that ends the bot's turn (0: the line returns after it)
    first_within: float = 10.0  # a reply may be slow under load; none at all is rare
    agent_within: float = 30.0  # a customer handed over waits this long for an agent to start
    gap: float = 0.0  # with a target rate: seconds between one customer's messages


SUSTAINED = (0.05, 0.95)  # the share of a run's messages its sustained rate is taken over


@dataclass
class Counters:
    """The customers' messages (when each was sent) and the agents' actions, and what
    went differently from the plan (reported, and expected to stay near 0)."""

    sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each message
    agent_actions: int = 0
    agent_waits_in_vain: int = 0  # escalations whose agent's answer never came

    @property
    def messages(self) -> int:
        return len(self.sent_at)

    def sustained(self) -> float:
        """Messages/s from the 5th to the 95th percentile of the customers' messages.

        The whole run's rate also holds its ends: the first replies while a thousand
        greetings arrive at once, and the drain, when the last customers wait out an
        agent's reading time (``AGENT_THINK``) with the bot idle; on a run of 1,000
        customers that drain was a quarter of the run. Between the two the load is
        what the run means to offer. Runs too short to have a middle give the whole
        run's rate."""
        times = sorted(self.sent_at)
        low, high = (round(share * (len(times) - 1)) for share in SUSTAINED)
        if high - low < 10:
            low, high = 0, len(times) - 1
        span = times[high] - times[low] if times else 0.0
        return round((high - low) / span, 1) if span > 0 else 0.0


def pick(offered: Sequence[str], wanted: str) -> str:
    """The button a customer who means ``wanted`` taps: that label, one starting with it
    ("No" -> "No, I'll rephrase"), or else the last one, which is the way out on the
    bot's keyboards ("Skip", "None of these", "No, thanks") rather than a 1-star rating."""
    folded = wanted.casefold()
    for label in offered:
        if label.casefold() == folded:
            return label
    for label in offered:
        if label.casefold().startswith(folded):
            return label
    return offered[-1]


async def play(
    log: ChatLog, line: Line, script: Script, pace: Pace, counters: Counters, *,
    start_at: float, done: Callable[[], None],
) -> None:  # fmt: skip
    """One customer, step by step; ``start_at`` (monotonic) staggers the rate's slots."""
    slot = start_at
    for step in script:
        if pace.gap:
            now = time.monotonic()
            if slot > now:
                await asyncio.sleep(slot - now)
            slot = max(slot, now) + pace.gap
        since = len(log.replies)
        offered = log.offered()
        log.cause()
        if step.kind == "answer" and offered:
            await line.tap(pick(offered, step.text))
        else:
            await line.say(step.text)
        counters.sent_at.append(log.causes[-1])
        await log.settle(since, quiet=pace.quiet, first_within=pace.first_within)
        if log.with_the_team():  # asked for, or handed over by the bot: wait, as told
            if not await log.team_answered(pace.agent_within):
                counters.agent_waits_in_vain += 1
            await log.settle(len(log.replies) - 1, quiet=pace.quiet, first_within=0)
        done()


async def answer_case(
    case: int, log: ChatLog, desk: DeskActions, pace: Pace, counters: Counters
) -> None:
    """The agent: reads the case, answers the customer, waits for the answer to reach
    them, then resolves the case (the bot then thanks the customer and asks for a
    rating)."""
    log.agents += 1
    try:
        await asyncio.sleep(AGENT_THINK)
        since = len(log.replies)
        log.cause()
        await desk.reply(case, AGENT_TEXT)
        counters.agent_actions += 1
        await log.settle(since, quiet=pace.quiet, first_within=pace.agent_within)
        log.cause()
        await desk.resolve(case)
        counters.agent_actions += 1
    finally:
        log.agents -= 1
        log.poke()


class Agents:
    """Runs one ``answer_case`` per case, each once, and knows when all are done."""

    def __init__(self, desk: DeskActions, pace: Pace, counters: Counters) -> None:
        self.desk, self.pace, self.counters = desk, pace, counters
        self.seen: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures: list[BaseException] = []

    def case_opened(self, case: int, log: ChatLog | None) -> None:
        if case in self.seen or log is None:  # not one of this run's customers
            return
        self.seen.add(case)
        task = asyncio.create_task(answer_case(case, log, self.desk, self.pace, self.counters))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failures.append(task.exception())  # type: ignore[arg-type]

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
