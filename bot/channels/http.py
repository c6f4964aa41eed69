"""HTTP for both adapters (aiohttp): what a call to a platform's API left open, and the
``GET /healthz`` and ``GET /metrics`` their servers answer.

After a timeout, or the connection closing under a request that had gone out (or under
half an answer), the platform may well have carried the call out: a message may have
been shown. Such a send is ``bot.delivery.DeliveryUncertain``, tried once more at most;
any other failure (the connection refused, say) happened before the request left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import ClientPayloadError, ServerDisconnectedError, web

from bot.metrics import CONTENT_TYPE, Figures, exposition

UNANSWERED = (TimeoutError, ServerDisconnectedError, ClientPayloadError)
HEALTH_PATH, METRICS_PATH = "/healthz", "/metrics"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
