"""Requests to ``/slack/events`` checked before bolt reads them.

Bolt parses a request's body (JSON, or a form's ``payload``) *before* it checks the
signature, so a body that is not JSON, nests too deep for the parser or is not UTF-8
raised inside aiohttp: a 500 and a traceback in the log, for anyone who could reach the
port, signed or not. Here the signature is checked first, on the raw bytes and with
slack_sdk's own verifier (as bolt does): without a valid one the answer is 401 and the
body is never parsed. A signed body that still cannot be read as bolt reads it is a 400
with one log line (Slack never sends one; a leaked secret or a broken proxy might).
Bolt then checks the signature again and serves the request as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bot import loggers

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_and_readable(secret: str, path: str) -> Any:
    """An aiohttp middleware guarding POSTs to ``path`` (other routes pass untouched)."""
    verifier = SignatureVerifier(secret)

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != path:
            return await handler(request)
        body = await request.read()  # kept by aiohttp: bolt's own read gets the same bytes
        try:
            signed = verifier.is_valid_request(body, dict(request.headers))
        except (ValueError, UnicodeDecodeError):  # a timestamp that is not a number,
            signed = False  # a body that is not UTF-8: nothing Slack would sign
        if not signed:
            loggers.channels.warning("slack: request without a valid signature refused")
            return web.Response(status=401)
        if not _readable(body.decode(), request.content_type):
            loggers.channels.warning("slack: signed request with a malformed body refused")
            return web.Response(status=400)
        return await handler(request)

    return gate


def _readable(body: str, content_type: str) -> bool:
    """Whether bolt can read ``body``: an object, as every Slack request is."""
    try:
        parsed = parse_body(body, content_type)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict)
