"""Answering Slack in time without losing what it sent (at-least-once, on Slack's retries).

Bolt's default acknowledges an event *before* the listener runs, so a listener that fails
(a locked database, a Slack API error) has already told Slack "done": Slack never
retries and the customer's message is silently lost (bolt-python#1061). We run the app
with ``process_before_response=True`` instead and give each event's work a budget:

- the work that records the event (one database transaction; sending replies is left to
  the outbox, in the background) normally finishes in milliseconds: the answer is 200
  when it committed, 500 when it failed, and Slack then redelivers the event
  (``X-Slack-Retry-Num``). The redelivery is processed, since nothing was recorded, or
  recognised as a repeat by the database if it was (the dedupe key is written in the same
  transaction as the effects, never remembered in memory or guessed from the header);
- work still running when the budget (2 s, under Slack's 3 s) runs out is answered 200
  and carries on. If it then fails, Slack will not redeliver, so the person is told to
  send it again and an error is logged: never silent. The same happens when the last of
  Slack's retries fails.

The work in progress is bounded (``limit``, 1,000 events by default): past it, an event
Slack will retry is refused at once with 503, and arrives again later (Slack retries
after about a minute, then five), instead of piling up in memory behind the database.
Its last retry and button taps (which Slack does not retry) are never refused. Both
figures are on ``/metrics`` (``supportbot_slack_events_in_progress``,
``supportbot_slack_events_refused_total``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot import loggers
from bot.errors import SupportBotError

LAST_SLACK_RETRY = 3  # Slack retries a failed event three times
MAX_IN_PROGRESS = 1000
REFUSAL_LOG_SECONDS = 10.0  # at most one log line this often while refusing
GiveUp = Callable[[], Awaitable[None]]


class Budget:
    def __init__(self, seconds: float, limit: int = MAX_IN_PROGRESS) -> None:
        self.seconds = seconds
        self.limit = limit
        self.in_progress = 0
        self.refused = 0
        self._late: set[asyncio.Task[None]] = set()
        self._next_log = 0.0

    async def run(
        self, work: Coroutine[Any, Any, None], *, what: str, give_up: GiveUp,
        retry_num: int = 0, retried_by_slack: bool = True,
    ) -> BoltResponse | None:  # fmt: skip
        """Run ``work`` for one request; the listener returns what this returns (None: bolt
        acknowledges with 200; a 500 or 503 response: Slack redelivers the event)."""
        if self.in_progress >= self.limit and retried_by_slack and retry_num < LAST_SLACK_RETRY:
            work.close()  # never started
            self._refuse(what)
            return BoltResponse(status=503, body="")
        self.in_progress += 1
        task = asyncio.ensure_future(work)
        task.add_done_callback(self._ended)
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if not done:
            loggers.channels.info("slack: %s still running; acknowledged, it carries on", what)
            self._late.add(task)
            task.add_done_callback(lambda t: self._finished_late(t, what, give_up))
            return None
        error = task.exception()
        if error is None:
            return None
        _log_failure(what, error)
        if not retried_by_slack or retry_num >= LAST_SLACK_RETRY:
            loggers.channels.error("slack: %s given up; the person is asked to try again", what)
            await give_up()
        return BoltResponse(status=500, body="")

    def _ended(self, _: asyncio.Task[None]) -> None:
        self.in_progress -= 1

    def _refuse(self, what: str) -> None:
        self.refused += 1
        now = asyncio.get_running_loop().time()
        if now >= self._next_log:
            loggers.channels.warning(
                "slack: %s refused with 503 (%d events in progress, %d refused so far); "
                "Slack sends it again later", what, self.in_progress, self.refused,
            )  # fmt: skip
            self._next_log = now + REFUSAL_LOG_SECONDS

    @property
    def unfinished(self) -> int:
        """Work acknowledged to Slack and still running (for ``/metrics``)."""
        return len(self._late)

    async def drain(self, seconds: float = 10.0) -> None:
        """At shutdown: let work that outlived its request finish (bounded)."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=seconds)

    def _finished_late(self, task: asyncio.Task[None], what: str, give_up: GiveUp) -> None:
        self._late.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _log_failure(what, error)
            loggers.channels.error("slack: %s failed after it was acknowledged", what)
            follow_up = asyncio.ensure_future(give_up())
            self._late.add(follow_up)
            follow_up.add_done_callback(self._late.discard)


def _log_failure(what: str, error: BaseException) -> None:
    if isinstance(error, SupportBotError | SlackApiError):
        loggers.channels.warning("slack: %s not processed: %s", what, error)
    else:  # a bug: keep the traceback
        loggers.channels.error("slack: %s failed", what, exc_info=error)


def retry_number(headers: dict[str, Any]) -> int:
    """``X-Slack-Retry-Num`` of a request (0 for a first delivery)."""
    values = headers.get("x-slack-retry-num") or ["0"]
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError):
        return 0
