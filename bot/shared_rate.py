"""Rate limits kept for the whole deployment, not per process.

Telegram allows a bot about 30 messages a second overall and one a second per chat;
Slack about one a second per channel. Each sending process paces itself
(``bot.channels.*.limits``), but several processes (``supportbot serve`` on two machines,
a Telegram and a Slack process sharing the desk) would each use the whole budget. A
``SharedRate`` books slots in one place that every process sees: Redis when
``SUPPORTBOT_REDIS_URL`` is set, else the PostgreSQL database itself.

Both use the generic cell rate algorithm (GCRA): per key, one number, the "theoretical
arrival time" of the next request. A reservation moves it on by one interval and returns
how long the caller must wait for its slot, so concurrent callers in any process get
consecutive slots and nobody polls. Time is the server's (Redis ``TIME``, PostgreSQL
``clock_timestamp()``), so the machines' clocks need not agree.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import DatabaseUnavailable
from bot.settings import Settings


class SharedRate(Protocol):
    async def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        """Book the key's next slot; returns the seconds to wait for it (0: go now)."""
        ...

    async def close(self) -> None: ...


_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX',
           math.ceil((new_tat - now) * 1000) + 1000)
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
return string.format('%.6f', wait)
"""


class RedisRate:
    """Slots booked in Redis by one Lua script per reservation (atomic, one round trip)."""

    def __init__(self, url: str, *, prefix: str = "supportbot:rate:") -> None:
        import redis.asyncio as redis  # the optional extra: pip install -e '.[redis]'

        self._redis: Any = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_GCRA)
        self.prefix = prefix

    async def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        interval = 1.0 / per_second
        wait = await self._script(keys=[self.prefix + key],
                                  args=[interval, interval * (burst - 1)])  # fmt: skip
        return float(wait)

    async def close(self) -> None:
        await self._redis.aclose()


_RESERVE = text("""
INSERT INTO rate_limits (key, tat)
VALUES (:key, extract(epoch FROM clock_timestamp()) + :interval)
ON CONFLICT (key) DO UPDATE
SET tat = GREATEST(rate_limits.tat, extract(epoch FROM clock_timestamp())) + :interval
RETURNING GREATEST(0, tat - :interval - :tolerance - extract(epoch FROM clock_timestamp()))
""")


class PostgresRate:
    """Slots booked in the ``rate_limits`` table: one autocommitted statement each."""

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name != "postgresql":
            raise DatabaseUnavailable("a shared rate limit needs PostgreSQL or Redis")
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def reserve(self, key: str, per_second: float, burst: int = 1) -> float:
        interval = 1.0 / per_second
        try:
            async with self.engine.connect() as conn:
                result = await conn.execute(
                    _RESERVE, {"key": key[:200], "interval": interval,
                               "tolerance": interval * (burst - 1)},
                )  # fmt: skip
                return float(result.scalar_one())
        except DatabaseError as exc:
            raise DatabaseUnavailable(f"rate limit not booked: {exc.orig}") from exc

    async def close(self) -> None:
        return None


def shared_rate_for(settings: Settings, engine: AsyncEngine) -> SharedRate | None:
    """Redis when ``redis_url`` is set; the database when separate workers run (several
    processes on PostgreSQL); otherwise None: one process paces itself."""
    if settings.redis_url is not None:
        return RedisRate(settings.redis_url.get_secret_value())
    if settings.processing == "workers" and engine.dialect.name == "postgresql":
        return PostgresRate(engine)
    return None
