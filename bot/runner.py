"""What every running bot does besides answering: deliver the outbox, fire timers."""

from __future__ import annotations

import asyncio

from bot import loggers
from bot.engine import Engine
from bot.errors import SupportBotError
from bot.privacy.retention import run_if_due

POLL_SECONDS = 0.3


async def background(engine: Engine, *, poll: float = POLL_SECONDS) -> None:
    """Until cancelled: deliver what other processes queued (an agent's reply from the
    console, a retry after a failure) and, every ``timer_poll_seconds``, fire due
    follow-ups and idle timeouts, and once a day purge what is past its retention time."""
    timers_every = engine.ctx.settings.timing.timer_poll_seconds
    since_timers = timers_every
    while True:
        await asyncio.sleep(poll)
        since_timers += poll
        try:
            if since_timers >= timers_every:
                since_timers = 0.0
                await engine.fire_due_timers()
                # the daily purge of expired records (it keeps its own schedule)
                await run_if_due(engine.repo, engine.ctx.settings.retention, engine.ctx.now())
            await engine.deliver(wait=False)
        except SupportBotError as exc:  # e.g. a busy database: try again on the next tick
            loggers.engine.warning("background work postponed: %s", exc)
