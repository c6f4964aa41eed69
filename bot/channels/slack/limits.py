"""Slack's limits, kept on our side so that Slack rarely has to enforce them.

- Posting: about one message per second per channel (Slack's documented limit for
  chat.postMessage). ``Pacer`` hands out send slots per channel; a 429 holds the channel
  for its ``Retry-After``, and the outbox keeps the message pending until then (nothing is
  dropped, order is kept because the outbox sends one message per address at a time).
- Length: a section block's text is at most 3000 characters and a message's text is cut
  at 40,000; ``split`` cuts long plain text into pieces whose *escaped* form fits, at a
  line break or space when there is one, so no entity (``&amp;``) is ever cut in half.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot import loggers
from bot.channels.slack.escape import escaped_len
from bot.errors import SupportBotError
from bot.shared_rate import SharedRate

SECTION_LIMIT = 2900  # Slack: 3000 per section text; a margin for the prefix we add
MESSAGE_LIMIT = 39_000  # Slack: 40,000 per message text
MAX_RETRY_AFTER = 3600.0


class Pacer:
    """At most one write per ``interval`` seconds to each channel, in the order asked."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        shared: SharedRate | None = None,
    ) -> None:
        self.interval = interval
        self.shared = shared  # the deployment's budget, when several processes send
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}  # channel -> earliest time of its next write

    async def wait(self, channel: str) -> None:
        """Take the channel's next slot and wait for it. The slot is reserved before the
        first await, so concurrent callers get consecutive slots in call order."""
        now = self.clock()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + self.interval
        self._forget_idle(now)
        wait = slot - now
        if self.shared is not None and self.interval > 0:  # 0: no pacing at all
            try:
                booked = await self.shared.reserve(f"slack:channel:{channel}", 1 / self.interval)
            except (SupportBotError, OSError, ConnectionError) as exc:
                loggers.channels.warning("slack: shared rate limit unavailable: %s", exc)
            else:
                wait = max(wait, booked)
        if wait > 0:
            await self.sleep(wait)

    def hold(self, channel: str, seconds: float) -> None:
        """Slack said 429: no write to this channel for ``seconds``."""
        until = self.clock() + seconds
        self._next[channel] = max(self._next.get(channel, until), until)

    def _forget_idle(self, now: float) -> None:
        if len(self._next) > 1000:  # bounded memory however many DMs we serve
            for channel in [c for c, t in self._next.items() if t < now]:
                del self._next[channel]


def retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Seconds from a 429's ``Retry-After`` header (missing or odd: ``default``)."""
    if not headers:
        return default
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else default
    except (TypeError, ValueError):
        return default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def split(text: str, limit: int) -> list[str]:
    """Cut plain ``text`` into pieces whose escaped length is at most ``limit``; prefer
    cutting after a line break, then after a space; never return an empty list."""
    pieces: list[str] = []
    rest = text
    while escaped_len(rest) > limit:
        cut = _fit(rest, limit)
        window = rest[:cut]
        for sep in ("\n", " "):
            at = window.rfind(sep)
            if at >= cut // 2:  # only if it does not leave a tiny piece
                cut = at + 1
                break
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    pieces.append(rest)
    return [p for p in pieces if p] or [""]


def truncate(text: str, limit: int) -> str:
    """The start of ``text`` that fits ``limit`` once escaped, with an ellipsis if cut."""
    if escaped_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)] + "…"


def _fit(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit ``limit`` once escaped (at least 1)."""
    size = 0
    for index, char in enumerate(text):
        size += escaped_len(char)
        if size > limit:
            return max(index, 1)
    return len(text)
