"""The Redis server the tests may use (database 15 of 127.0.0.1:6379 unless
SUPPORTBOT_TEST_REDIS_URL says otherwise)."""

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
