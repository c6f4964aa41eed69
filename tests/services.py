"""The Redis server the tests may use (database 15 of 127.0.0.1:6379 unless
SUPPORTBOT_TEST_REDIS_URL says otherwise), and a shared rate store that only counts."""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# CI sets this so that tests needing a service fail instead of skipping.
REQUIRE_SERVICES = os.environ.get("SUPPORTBOT_REQUIRE_SERVICES") == "1"


async def redis_url_or_skip() -> str:
    """The URL, once the server answered; else skip saying why (fail under CI)."""
    redis = pytest.importorskip("redis.asyncio", reason="pip install -e '.[redis]'")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.ConnectionError) as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        await client.aclose()
    return REDIS_URL


class CountingRate:
    """A deployment's shared rate store (``bot.shared_rate.SharedRate``) that remembers
    what was booked and makes every booking wait ``wait`` seconds."""

    def __init__(self, wait: float = 0.0) -> None:
        self.wait = wait
        self.booked: list[str] = []

    async def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        self.booked.append(key)
        return self.wait

    async def close(self) -> None:
        return None
