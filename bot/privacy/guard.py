"""What the engine checks on every customer message before the dialogue sees it: secrets
are masked (before anything is stored, shown or logged) and a flooding customer is
slowed down, so others never wait for them."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Literal

from bot.privacy import logs
from bot.privacy.redaction import Redactor
from bot.settings import Settings

WINDOW = timedelta(minutes=1)  # ``per_minute`` tokens refill over it
ROTATE = timedelta(seconds=5)  # how often full buckets are forgotten

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
    """A token bucket per conversation (in memory: each process limits the customers it
    serves): ``per_minute`` messages at once, then ``per_minute`` a minute. Over it, the
    first message gets a polite "slow down" and the rest are kept without an answer until
    the bucket has a token again.

    A conversation whose bucket has filled up again is like one never seen, so it is
    forgotten: every ``ROTATE`` the conversations not seen since the previous rotation are
    looked at once, and those still short of tokens carried over. Memory follows the
    customers of the last few seconds (and those who flood), not of a whole minute, and a
    message costs the same however many customers write (an outage brings thousands;
    a sweep of all of them on every message once made the engine quadratic)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._refill = per_minute / WINDOW.total_seconds()  # tokens a second
        self._recent: dict[Hashable, tuple[float, datetime]] = {}  # tokens left, when
        self._older: dict[Hashable, tuple[float, datetime]] = {}  # not seen since rotating
        self._rotated: datetime | None = None
        self._told: set[Hashable] = set()

    def check(self, key: Hashable, now: datetime) -> Pace:
        self._rotate(now)
        bucket = self._recent.pop(key, None) or self._older.pop(key, None)
        tokens = self.per_minute if bucket is None else self._tokens(bucket, now)
        if tokens >= 1:
            self._recent[key] = (tokens - 1, now)
            self._told.discard(key)
            return "ok"
        self._recent[key] = (tokens, now)
        if key in self._told:
            return "quiet"
        self._told.add(key)
        return "slow_down"

    def _tokens(self, bucket: tuple[float, datetime], now: datetime) -> float:
        tokens, at = bucket
        return min(float(self.per_minute), tokens + (now - at).total_seconds() * self._refill)

    def _rotate(self, now: datetime) -> None:
        if self._rotated is None or now < self._rotated:  # the first call, or a clock reset
            self._rotated = now
            return
        elapsed = now - self._rotated
        if elapsed < ROTATE:
            return
        # after a quiet spell of two rotations, the recent ones are as old as the others
        quiet = elapsed >= 2 * ROTATE
        seen = {**self._older, **self._recent} if quiet else self._older
        owing = {key: bucket for key, bucket in seen.items()
                 if self._tokens(bucket, now) < self.per_minute}  # fmt: skip
        for key in seen.keys() - owing.keys():
            self._told.discard(key)
        self._older, self._recent = (owing, {}) if quiet else ({**self._recent, **owing}, {})
        self._rotated = now

    def __len__(self) -> int:
        return len(self._recent) + len(self._older)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._recent or key in self._older


class InboundGuard:
    def __init__(self, settings: Settings) -> None:
        rules = settings.redaction
        self.chat = Redactor(rules.chat_rules, rules.custom)
        self.logs = Redactor(rules.log_rules, rules.custom)
        self.throttle = Throttle(settings.abuse.messages_per_minute)
        logs.install(self.logs)
