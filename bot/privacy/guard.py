"""What the engine checks on every customer message before the dialogue sees it: secrets
are masked (before anything is stored, shown or logged) and a flooding customer is
slowed down, so others never wait for them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Literal

from bot.privacy import logs
from bot.privacy.redaction import Redactor
from bot.settings import Settings

WINDOW = timedelta(minutes=1)

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
    polite "slow down" and the rest are kept without an answer until the pace drops.

    Conversations are kept in the order they last wrote, so the ones quiet for a whole
    window are at the front and are forgotten a few at a time as others write: each
    message costs the same however many customers write in a minute (an outage brings
    thousands; a sweep of them all on every message made the engine quadratic)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        # a list, not a deque: a deque's first block takes about 600 bytes, and a
        # minute of an outage's traffic is tens of thousands of conversations
        self._seen: OrderedDict[Hashable, list[datetime]] = OrderedDict()
        self._told: set[Hashable] = set()

    def check(self, key: Hashable, now: datetime) -> Pace:
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = []
        else:
            self._seen.move_to_end(key)  # the most recent at the end
            gone = 0
            while gone < len(times) and now - times[gone] >= WINDOW:
                gone += 1
            del times[:gone]
        times.append(now)
        self._forget_quiet(now)
        if len(times) <= self.per_minute:
            self._told.discard(key)
            return "ok"
        if key in self._told:
            return "quiet"
        self._told.add(key)
        return "slow_down"

    def _forget_quiet(self, now: datetime) -> None:
        while self._seen:
            key, times = next(iter(self._seen.items()))
            if times and now - times[-1] < WINDOW:
                return  # the rest wrote later
            self._seen.popitem(last=False)
            self._told.discard(key)

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._seen


class InboundGuard:
    def __init__(self, settings: Settings) -> None:
        rules = settings.redaction
        self.chat = Redactor(rules.chat_rules, rules.custom)
        self.logs = Redactor(rules.log_rules, rules.custom)
        self.throttle = Throttle(settings.abuse.messages_per_minute)
        logs.install(self.logs)
