"""What the engine checks on every customer message before the dialogue sees it: secrets
are masked (before anything is stored, shown or logged) and a flooding customer is
slowed down, so others never wait for them."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Literal

from bot.privacy import logs
from bot.privacy.redaction import Redactor
from bot.settings import Settings

WINDOW = timedelta(minutes=1)
SWEEP_ABOVE = 1000  # conversations tracked before quiet ones are forgotten

SECRETS_REMOVED = (
    "For your safety I've hidden the payment or login details in your message. "
    "Please never send card numbers, security codes, bank details or passwords in this "
    "chat: we will never ask for them here."
)
SLOW_DOWN = (
    "You're sending messages faster than I can read them. Everything you sent is kept; "
    "please wait a minute, then tell me what you need in one message."
)
FLOODING = "Case #{case}: the customer is sending many messages at once; they are kept in "
FLOODING += "the transcript (supportbot cases show {case}) rather than posted one by one."

Pace = Literal["ok", "slow_down", "quiet"]


class Throttle:
    """A sliding one-minute window of message times per conversation (in memory: each
    process limits the customers it serves). Over the limit, the first message gets a
    polite "slow down" and the rest are kept without an answer until the pace drops."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[Hashable, deque[datetime]] = {}
        self._told: set[Hashable] = set()

    def check(self, key: Hashable, now: datetime) -> Pace:
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= WINDOW:
            times.popleft()
        times.append(now)
        if len(self._seen) > SWEEP_ABOVE:
            self._sweep(now)
        if len(times) <= self.per_minute:
            self._told.discard(key)
            return "ok"
        if key in self._told:
            return "quiet"
        self._told.add(key)
        return "slow_down"

    def _sweep(self, now: datetime) -> None:
        for key, times in list(self._seen.items()):
            if not times or now - times[-1] >= WINDOW:
                del self._seen[key]
                self._told.discard(key)

    def __len__(self) -> int:
        return len(self._seen)


class InboundGuard:
    def __init__(self, settings: Settings) -> None:
        rules = settings.redaction
        self.chat = Redactor(rules.chat_rules, rules.custom)
        self.logs = Redactor(rules.log_rules, rules.custom)
        self.throttle = Throttle(settings.abuse.messages_per_minute)
        logs.install(self.logs)
