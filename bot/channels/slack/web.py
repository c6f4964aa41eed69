"""Our writes to the Slack Web API: paced per channel, failures turned into the outbox's
language (``RetryLater`` for a 429, ``ChannelError`` otherwise), so a message that could
not be posted stays pending and is retried instead of being lost.

Posts never unfurl links: a customer's link must not grow a preview in the agents'
channel, and a preview fetched on our behalf could leak that the link was opened.
Files (a customer's export of their data) go through Slack's upload flow
(``files.getUploadURLExternal``, the upload, ``files.completeUploadExternal``; scope
``files:write``), paced and translated like every other write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import loggers
from bot.channels.http import UNANSWERED
from bot.channels.slack.limits import Pacer, retry_after
from bot.delivery import DeliveryUncertain, RetryLater
from bot.errors import ChannelError

Blocks = list[dict[str, Any]]
PART_RETRIES = 5


class SlackOut:
    def __init__(self, client: AsyncWebClient, pacer: Pacer) -> None:
        self.client = client
        self.pacer = pacer

    async def post(
        self, channel: str, text: str, *, blocks: Blocks | None = None,
        thread_ts: str | None = None, broadcast: bool = False,
    ) -> str:  # fmt: skip
        """Post a message (``text`` already Slack-escaped); returns its ``ts``. A
        ``broadcast`` thread reply is also shown in the channel."""
        args: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False,
                                "unfurl_media": False}  # fmt: skip
        if blocks is not None:
            args["blocks"] = blocks
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
            args["reply_broadcast"] = broadcast
        data = await self._call("chat.postMessage", channel, args)
        return str(data.get("ts") or "")

    async def post_all(
        self, channel: str, parts: list[tuple[str, Blocks | None]], *,
        thread_ts: str | None = None,
    ) -> None:  # fmt: skip
        """Post a message cut in parts, in order. If the first part fails the whole
        message stays pending; once a part is out, a 429 is waited out here instead (the
        pacer holds the channel for its Retry-After), so a retry never posts the first
        part twice."""
        for index, (text, blocks) in enumerate(parts):
            for attempt in range(PART_RETRIES):
                try:
                    await self.post(channel, text, blocks=blocks, thread_ts=thread_ts)
                    break
                except RetryLater:
                    if index == 0 or attempt == PART_RETRIES - 1:
                        raise

    async def update(self, channel: str, ts: str, text: str, blocks: Blocks) -> None:
        args = {"channel": channel, "ts": ts, "text": text, "blocks": blocks}
        await self._call("chat.update", channel, args)

    async def ephemeral(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        """A message only ``user`` sees (refusals, confirmations for agents)."""
        args: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        await self._call("chat.postEphemeral", channel, args)

    async def tell(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> None:
        """``ephemeral`` for courtesy messages: a failure is logged, never raised."""
        try:
            await self.ephemeral(channel, user, text, thread_ts=thread_ts)
        except ChannelError as exc:
            loggers.channels.warning("slack: could not tell a user in %s: %s", channel, exc)

    async def upload(self, channel: str, name: str, content: bytes, *, comment: str) -> None:
        """A file in ``channel`` (a customer's DM), with ``comment`` (already escaped) as
        the message it comes with."""

        def call() -> Awaitable[AsyncSlackResponse]:
            return self.client.files_upload_v2(
                channel=channel, content=content, filename=name, title=name,
                initial_comment=comment,
            )  # fmt: skip

        await self._guarded("files.upload", channel, call)

    async def _call(self, method: str, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        response = await self._guarded(
            method, channel, lambda: self.client.api_call(method, json=args)
        )
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _guarded(
        self, method: str, channel: str, call: Callable[[], Awaitable[AsyncSlackResponse]]
    ) -> AsyncSlackResponse:
        """Wait for the channel's slot, then call; failures in the outbox's language."""
        await self.pacer.wait(channel)
        try:
            return await call()
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", None)
            error = _error_code(exc)
            if status == 429 or error == "ratelimited":
                seconds = retry_after(getattr(exc.response, "headers", None))
                self.pacer.hold(channel, seconds)
                raise RetryLater(seconds, f"slack {method} rate limited") from None
            raise ChannelError(f"slack {method} failed: {error}") from None
        except SlackRequestError as exc:  # the upload itself was refused
            raise ChannelError(f"slack {method} failed: {exc}") from None
        except UNANSWERED as exc:  # it may have been posted: tried once more at most
            raise DeliveryUncertain(f"slack {method}: no answer ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ChannelError(f"slack {method} unreachable: {type(exc).__name__}") from None


def _error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {getattr(exc.response, 'status_code', '?')}"
