"""Opening a listening socket with a clear refusal.

A port another process holds, or an address this host does not have, is a setting that
cannot run: one line naming the setting (status 2, so ``supportbot serve`` stops rather
than restarts), not a traceback.
"""

from __future__ import annotations

import os

from aiohttp import web

from bot.errors import ConfigError


async def listen(runner: web.AppRunner, host: str, port: int, setting: str) -> None:
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:  # asyncio's text repeats the address: the errno's says it all
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        msg = f"invalid setting {setting}: cannot listen on {host}:{port} ({reason})"
        raise ConfigError(msg) from None
