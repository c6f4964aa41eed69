"""``GET /healthz`` and ``GET /metrics`` over HTTP (aiohttp), for any running process.

The webhook servers (Telegram's, Slack's) add both routes to the server they already
run. A process that opens no port of its own (a Telegram poller, Slack in Socket Mode,
a worker) listens on ``health.host:health.port`` when the port is set (0: it does not
listen); ``supportbot serve`` gives each of its processes its own port from there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot import loggers
from bot.listening import listen
from bot.metrics import CONTENT_TYPE, Figures, exposition
from bot.settings import HealthSettings

HEALTH_PATH, METRICS_PATH = "/healthz", "/metrics"


def observe(app: web.Application, role: str, figures: Figures) -> None:
    """Add ``GET /healthz`` (200 while this process writes its heartbeats, else 503 with
    the reason: for load balancers and uptime monitors; ``supportbot health`` sees the
    whole deployment) and ``GET /metrics`` (Prometheus)."""
    heartbeat, text = figures.heartbeat, exposition(figures)

    async def healthz(request: web.Request) -> web.StreamResponse:
        ok, reason = heartbeat.status()
        body = {"status": "ok" if ok else "failing", "role": role, "detail": reason}
        return web.json_response(body, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.StreamResponse:
        return web.Response(body=text(), headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get(HEALTH_PATH, healthz)
    app.router.add_get(METRICS_PATH, metrics)


@asynccontextmanager
async def health_server(
    settings: HealthSettings, role: str, figures: Figures
) -> AsyncIterator[str | None]:
    """Listen on ``settings.port`` while the block runs; yields the address (None when
    the port is 0: nothing listens)."""
    if not settings.port:
        yield None
        return
    app = web.Application()
    observe(app, role, figures)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await listen(runner, settings.host, settings.port, "health.port")
        address = f"http://{settings.host}:{settings.port}"
        loggers.engine.info("%s: /healthz and /metrics on %s", role, address)
        yield address
    finally:
        await runner.cleanup()
