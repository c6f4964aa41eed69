"""Staying inside Telegram's limits: pacing, 429s, and message length.

Telegram publishes no exact numbers; its Bot FAQ advises about 1 message/s per chat
(short bursts are fine), at most 20 messages/min to one group, and about 30 messages/s
overall. Going over returns 429 with ``retry_after``. Every API call goes through
``RateLimitMiddleware``, so the outbox senders and the few direct replies share one
budget. Each limit is a GCRA bucket (a token bucket that remembers one timestamp):
calls reserve their slot synchronously, in call order, then sleep until it comes, so
pacing never reorders messages. Rates and bursts are chosen so that any window holds at
most the published number: a rate r with a burst b allows at most r·w + b - 1 calls in a
window w, so 17/min with a burst of 3 stays under 20 in any minute, 25/s with a burst of
5 under 30 in any second.

A 429 blocks that chat (or everything, if the call had no chat) until ``retry_after``
has passed; the exception is re-raised so the sender can keep the message pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods.base import TelegramType

from bot import loggers
from bot.channels.telegram.session import OutcomeUnknown
from bot.delivery import DeliveryUncertain, RetryLater
from bot.errors import ChannelError, SupportBotError
from bot.shared_rate import SharedRate

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

TEXT_LIMIT = 4096  # characters (UTF-16 code units) of a message, after entity parsing
CAPTION_LIMIT = 1024
Step = Callable[[], Awaitable[Any]]
# Calls that are not messages: never paced (long polling must not wait behind sends).
UNPACED = frozenset({"getUpdates", "getMe", "deleteWebhook", "setWebhook", "close", "logOut"})
POSTING_EXTRA = frozenset(
    {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages", "createForumTopic",
     "editForumTopic", "closeForumTopic", "reopenForumTopic"}
)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    """Rates of ``math.inf`` are no limit: nothing is booked for them, here or in the
    deployment's shared store (``unpaced``, for a fake Telegram that has no limits)."""

    overall_per_second: float = 25.0
    overall_burst: int = 5
    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_minute: float = 17.0
    group_burst: int = 3

    @classmethod
    def unpaced(cls) -> Limits:
        return cls(overall_per_second=math.inf, chat_per_second=math.inf,
                   group_per_minute=math.inf)  # fmt: skip


class _Bucket:
    """GCRA: ``tat`` is when the bucket would be empty again at the current pace."""

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, per_second: float, burst: int) -> None:
        self.interval = 1.0 / per_second
        self.tolerance = (max(burst, 1) - 1) * self.interval
        self.tat = -math.inf

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tolerance)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval


class Limiter:
    def __init__(
        self, limits: Limits | None = None, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedRate | None = None,
    ) -> None:  # fmt: skip
        self.limits = limits = limits or Limits()
        self.shared = shared  # the deployment's budget, when several processes send
        self.clock = clock
        self.sleep = sleep
        self._overall = _Bucket(limits.overall_per_second, limits.overall_burst)
        self._chats: dict[int | str, _Bucket] = {}
        self._groups: dict[int | str, _Bucket] = {}
        self._blocked: dict[int | str | None, float] = {}  # None: every chat
        self._calls = 0

    def reserve_chat(self, chat: int | str | None, *, posting: bool) -> float:
        """Book the chat's (and group's) next slot; returns how long to wait for it. A
        429 penalty of the chat, or of everything, is waited out here as well."""
        now = self.clock()
        at = max(now, self._blocked.get(None, now))
        if chat is not None:
            at = max(at, self._blocked.get(chat, now))
        if posting and chat is not None:
            buckets = [self._bucket(self._chats, chat, self.limits.chat_per_second,
                                    self.limits.chat_burst)]  # fmt: skip
            if _is_group(chat):
                per_second = self.limits.group_per_minute / 60.0
                buckets.append(self._bucket(self._groups, chat, per_second,
                                            self.limits.group_burst))  # fmt: skip
            at = max(at, *(b.earliest(now) for b in buckets))
            for bucket in buckets:
                bucket.take(at)
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget_idle(now)
        return at - now

    def reserve_overall(self) -> float:
        """Book a slot of the bot's overall budget. Booked only once the chat's own slot
        has come, so a chat that must wait long never holds up the others."""
        now = self.clock()
        at = self._overall.earliest(now)
        self._overall.take(at)
        return at - now

    async def acquire(self, chat: int | str | None, *, posting: bool) -> None:
        wait = self.reserve_chat(chat, posting=posting)
        if posting and chat is not None:
            wait = max(wait, await self._shared(f"chat:{chat}", self.limits.chat_per_second,
                                                self.limits.chat_burst))  # fmt: skip
            if _is_group(chat):
                wait = max(wait, await self._shared(
                    f"group:{chat}", self.limits.group_per_minute / 60.0, self.limits.group_burst
                ))  # fmt: skip
        if wait > 0:
            await self.sleep(wait)
        wait = self.reserve_overall()
        wait = max(wait, await self._shared("overall", self.limits.overall_per_second,
                                            self.limits.overall_burst))  # fmt: skip
        if wait > 0:
            await self.sleep(wait)

    async def _shared(self, key: str, per_second: float, burst: int) -> float:
        """The slot booked for every process (``bot.shared_rate``); when the shared store
        cannot be reached, this process's own pacing goes on alone (logged). A limit of
        ``math.inf`` books nothing: the booking would cost a round trip to the store for
        each API call and hold back no one."""
        if self.shared is None or per_second == math.inf:
            return 0.0
        try:
            return await self.shared.reserve(f"telegram:{key}", per_second, burst)
        except (SupportBotError, OSError, ConnectionError) as exc:
            loggers.channels.warning("telegram: shared rate limit unavailable: %s", exc)
            return 0.0

    def penalise(self, chat: int | str | None, retry_after: float) -> None:
        """Telegram said 429: nothing more to this chat (None: to anyone) for a while."""
        until = self.clock() + retry_after
        self._blocked[chat] = max(self._blocked.get(chat, until), until)

    def _bucket(
        self, table: dict[int | str, _Bucket], chat: int | str, per_second: float, burst: int
    ) -> _Bucket:
        bucket = table.get(chat)
        if bucket is None:
            bucket = table[chat] = _Bucket(per_second, burst)
        return bucket

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded: an idle chat's bucket is as good as a new one."""
        for table in (self._chats, self._groups):
            for chat in [c for c, b in table.items() if b.tat < now]:
                del table[chat]
        for key in [c for c, until in self._blocked.items() if until < now]:
            del self._blocked[key]


def _is_group(chat: int | str) -> bool:
    # Groups and channels have negative ids, or are addressed as @username.
    return isinstance(chat, str) or chat < 0


class RateLimitMiddleware(BaseRequestMiddleware):
    """Paces every API call and records 429s; installed on the bot's session."""

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        if name in UNPACED:
            return await make_request(bot, method)
        chat = getattr(method, "chat_id", None)
        chat = chat if isinstance(chat, int | str) else None
        await self.limiter.acquire(chat, posting=name.startswith("send") or name in POSTING_EXTRA)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self.limiter.penalise(chat, exc.retry_after)
            raise


# Splitting long text ----------------------------------------------------------

_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors


def utf16_len(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` units, cut at the cleanest boundary in the second half
    of each window (paragraph, line, sentence, word), never inside a character sequence
    that renders as one (combining marks, ZWJ emoji, flags, skin tones)."""
    chunks: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        window = _fitting_prefix(rest, limit)
        cut = 0
        for mark in _BREAKS:
            at = window.rfind(mark)
            if at >= len(window) // 2:
                cut = at + len(mark)
                break
        if cut == 0:
            cut = _safe_cut(rest, len(window))
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` units, ending with an ellipsis when something was cut."""
    if utf16_len(text) <= limit:
        return text
    return text[: _safe_cut(text, len(_fitting_prefix(text, limit - 1)))].rstrip() + "…"


def _fitting_prefix(text: str, limit: int) -> str:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` left until it does not split a grapheme-like sequence."""
    while 1 < cut < len(text) and _binds(text[cut - 1], text[cut]):
        cut -= 1
    return cut


def _binds(before: str, after: str) -> bool:
    if unicodedata.combining(after) or after in _JOINERS or before == "\u200d":
        return True
    if "\U0001f3fb" <= after <= "\U0001f3ff":  # skin-tone modifier
        return True
    regional = "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff"
    return regional


# Resuming a reply that needs several API calls -------------------------------------


class PartialSends:
    """Remembers how many calls of a multi-call delivery already went through, so a
    retry after a 429 (or any failure) resumes instead of repeating the first parts.
    In memory only: a crash in between repeats them, like any at-least-once delivery."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], int] = {}

    async def run(self, address: str, identity: str, steps: list[Step]) -> None:
        key = (address, identity)
        for index in range(self._done.get(key, 0), len(steps)):
            await steps[index]()
            self._done[key] = index + 1
        self._done.pop(key, None)


def fingerprint(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@contextlib.asynccontextmanager
async def outbox_errors(where: str) -> AsyncIterator[None]:
    """Turn whatever sending to Telegram raised into what the outbox understands: a 429
    waits as asked, anything else keeps the message pending for a retry with backoff
    (a bug is logged with its traceback, never allowed to escape the outbox)."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryLater(exc.retry_after, "telegram flood control") from None
    except OutcomeUnknown as exc:
        raise DeliveryUncertain(f"{where}: {exc}") from None
    except TelegramAPIError as exc:
        raise ChannelError(f"{where}: {exc}") from None
    except SupportBotError as exc:  # e.g. the database is busy
        raise ChannelError(str(exc)) from None
    except Exception as exc:
        loggers.channels.exception("%s: not sent", where)
        raise ChannelError(f"{where}: {type(exc).__name__}") from None
