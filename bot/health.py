"""Signs of life, so that a bot that stopped is noticed while the platforms still hold
its customers' messages.

Telegram keeps the updates it could not deliver for 24 hours, then deletes them; Slack
retries an event three times within about five minutes, then drops it. A bot that is down
cannot say so itself. So every running process writes a heartbeat, a row of ``cursors``
named ``alive:<role>``, every ``health.heartbeat_seconds``, and ``supportbot health``
(``bot/health_check.py``, run by cron or a monitor from anywhere that reaches the
database) fails when one is older than ``health.max_silence_minutes``.

A beat says more than "the process runs": a poller also records when it last reached its
platform (a long poll that came back), so a bot that runs but cannot reach Telegram is a
problem too, judged at the moment of the beat (clocks of different hosts never meet).
A process that starts after a long silence says in its log how long it was gone and what
the platform may have dropped meanwhile. The webhook servers answer ``GET /healthz`` from
this process's own beats, for load balancers and uptime monitors: a beat that cannot be
written means the database is out of reach.

Cost: one small write a minute per process, nothing per message.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import loggers
from bot.errors import SupportBotError
from bot.storage.repository import Repository

PREFIX = "alive:"
ROLES = ("telegram", "slack", "worker")  # the processes that must keep running
# What a platform does with messages sent to a bot that is not there to take them.
TELEGRAM_KEEPS = timedelta(hours=24)
SLACK_RETRIES_FOR = timedelta(minutes=6)  # at once, after about 1 and about 5 minutes
WHILE_AWAY = {
    "telegram": "Telegram keeps undelivered updates for 24 h",
    "slack": "Slack drops an event it could not deliver within about 5 minutes",
    "worker": "received messages waited in the inbox",
}


@dataclass(frozen=True)
class Beat:
    """One process's last sign of life (the newest of its role)."""

    role: str
    at: datetime  # when it was written
    host: str
    pid: int
    since: datetime  # when that process started
    contact: datetime | None = None  # a poller: when it last reached its platform

    def encode(self) -> str:
        """The ``cursors`` value: compact JSON, under its 200 characters."""
        data = {"host": self.host[:60], "pid": self.pid, "since": _stamp(self.since),
                "contact": _stamp(self.contact) if self.contact else None}  # fmt: skip
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, role: str, value: str, at: datetime) -> Beat:
        """A stored beat; one that cannot be read still counts as a sign of life."""
        try:
            data = json.loads(value)
            contact = data.get("contact")
            return cls(role, at, str(data["host"]), int(data["pid"]),
                       datetime.fromisoformat(data["since"]),
                       datetime.fromisoformat(contact) if contact else None)  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(role, at, "?", 0, at)

    @property
    def out_of_contact(self) -> timedelta | None:
        """How long it had not reached its platform when it wrote this (pollers only)."""
        return None if self.contact is None else max(self.at - self.contact, timedelta(0))


class Heartbeat:
    """Writes this process's beats: ``start`` (as the process starts) writes the first
    and reports how long the role was silent before it; ``run`` writes one every
    ``every`` seconds until cancelled. ``contact`` (pollers) tells when the platform was
    last reached."""

    def __init__(
        self, repo: Repository, role: str, now: Callable[[], datetime], *, every: float,
        contact: Callable[[], datetime | None] | None = None,
        warn_after: timedelta = timedelta(minutes=5),
    ) -> None:  # fmt: skip
        self.repo, self.role, self.now, self.every = repo, role, now, every
        self.contact = contact
        self.warn_after = warn_after
        self.host, self.pid, self.since = socket.gethostname(), os.getpid(), now()
        self._written: float | None = None  # time.monotonic() of the last beat stored
        self._failure = ""

    async def start(self) -> Beat | None:
        """Write the first beat; return the one before it (None: the role is new here)."""
        try:
            async with self.repo.transaction() as tx:
                stored = await tx.cursor_row(PREFIX + self.role)
        except SupportBotError as exc:
            loggers.engine.warning("%s: last heartbeat not read: %s", self.role, exc)
            stored = None
        previous = Beat.decode(self.role, *stored) if stored else None
        if previous is not None:
            away = self.since - previous.at
            if away > self.warn_after:
                loggers.engine.warning("%s: no process was alive for %s (last: %s, pid %s); %s",
                                       self.role, span(away), previous.host, previous.pid,
                                       WHILE_AWAY.get(self.role, ""))  # fmt: skip
        await self.beat()
        return previous

    async def run(self) -> None:
        """Until cancelled: a beat every ``every`` seconds (after ``start``'s first)."""
        while True:
            await asyncio.sleep(self.every)
            await self.beat()

    async def beat(self) -> None:
        now = self.now()
        beat = Beat(self.role, now, self.host, self.pid, self.since,
                    self.contact() if self.contact else None)  # fmt: skip
        try:
            async with self.repo.transaction() as tx:
                await tx.set_cursor(PREFIX + self.role, beat.encode(), now)
        except SupportBotError as exc:  # the database is out of reach: /healthz says so
            self._failure = str(exc)
            loggers.engine.warning("%s: heartbeat not written: %s", self.role, exc)
        else:
            self._written, self._failure = time.monotonic(), ""

    def age(self) -> float | None:
        """Seconds since this process last wrote a beat (None: not yet)."""
        return None if self._written is None else time.monotonic() - self._written

    def status(self) -> tuple[bool, str]:
        """For ``GET /healthz``: whether this process wrote a beat lately, and why not."""
        age = self.age()
        if age is None:
            return False, self._failure or "starting"
        if age > 3 * self.every:
            return False, f"no heartbeat written for {age:.0f} s: {self._failure or 'stalled'}"
        return True, "ok"


def span(delta: timedelta) -> str:
    """``2 d 3 h``, ``3 h 50 min``, ``4 min 10 s``, ``12 s``: the two largest units."""
    seconds = max(int(delta.total_seconds()), 0)
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        if seconds >= size or (name == "s" and not parts):
            parts.append(f"{seconds // size} {name}")
            seconds %= size
        elif parts:
            break
        if len(parts) == 2:
            break
    return " ".join(parts)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
