"""Two sending processes' limiters share Telegram's budget through Redis: together they
post to one chat no faster than one limiter alone would."""

from __future__ import annotations

import asyncio
import os
import time

from bot.channels.telegram.limits import Limiter, Limits
from bot.shared_rate import RedisRate
from tests.services import CountingRate, redis_url_or_skip


async def test_two_limiters_on_one_chat_keep_one_pace() -> None:
    redis_url = await redis_url_or_skip()
    limits = Limits(
        chat_per_second=20.0, chat_burst=1, overall_per_second=1000.0, overall_burst=100
    )
    prefix = f"test-{os.getpid()}-{time.monotonic_ns()}:"
    stores = [RedisRate(redis_url, prefix=prefix) for _ in range(2)]
    limiters = [Limiter(limits, shared=store) for store in stores]
    sent: list[float] = []

    async def post(limiter: Limiter) -> None:
        for _ in range(8):
            await limiter.acquire(12345, posting=True)
            sent.append(time.monotonic())

    try:
        await asyncio.gather(*(post(limiter) for limiter in limiters))
    finally:
        for store in stores:
            await store.close()
    assert len(sent) == 16
    # 16 posts at 20 a second take 15 intervals (0.75 s) when the limiters share the
    # budget; each alone would post its 8 in 7 intervals, both at once (0.35 s).
    assert max(sent) - min(sent) > 0.6


async def test_no_limit_books_nothing_in_the_shared_store() -> None:
    # A bench against a fake Telegram lifts the limits; booking them anyway cost a round
    # trip to PostgreSQL per API call and halved the receiving process's speed.
    store = CountingRate()
    limiter = Limiter(Limits.unpaced(), shared=store)
    await limiter.acquire(12345, posting=True)
    await limiter.acquire(-100777, posting=True)
    assert store.booked == []


async def test_real_limits_book_the_chat_the_group_and_the_whole_bot() -> None:
    store = CountingRate()
    limiter = Limiter(Limits(), shared=store)
    await limiter.acquire(12345, posting=True)
    await limiter.acquire(-100777, posting=True)
    assert store.booked == [
        "telegram:chat:12345", "telegram:overall",
        "telegram:chat:-100777", "telegram:group:-100777", "telegram:overall",
    ]  # fmt: skip
