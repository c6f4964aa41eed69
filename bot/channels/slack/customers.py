"""Customers in direct messages: their messages into the engine, our replies back out.

A reply with quick replies ("Did this solve your issue?", the 1-5 rating) is a section
plus a row of buttons; a tap comes back as the button's payload, exactly as if the
customer had typed it. Agents' replies are shown under their name. Everything we post is
escaped plain text, split to fit Slack's limits. A reply carrying a file (the export of
the customer's data) is uploaded to the DM, its text as the file's message.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot import loggers
from bot.channels.slack import translate
from bot.channels.slack.acks import Budget, retry_number
from bot.channels.slack.directory import Directory
from bot.channels.slack.escape import escape
from bot.channels.slack.limits import MESSAGE_LIMIT, SECTION_LIMIT, split, truncate
from bot.channels.slack.web import Blocks, SlackOut
from bot.dialogue.texts import SEND_AGAIN
from bot.engine import Engine
from bot.errors import ChannelError
from bot.messages import Button, Reply, SentFile

QUICK_REPLY = re.compile(r"^quick_reply:\d+$")
BOLD = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
FILE_NOT_SHOWN = "(A file was sent that cannot be shown here.)"


class CustomerSender:
    """The outbox's way to a Slack customer: ``address`` is the DM channel id."""

    def __init__(self, out: SlackOut, team: str) -> None:
        self.out = out
        self.team = team

    async def send(self, address: str, reply: Reply) -> None:
        prefix = ""
        if reply.sender == "agent":
            prefix = f"*{escape(reply.author or 'Support')}* ({escape(self.team)}):\n"
        file = SentFile.of(reply)
        if file is not None:
            comment = prefix + escape(truncate(reply.text, SECTION_LIMIT))
            await self.out.upload(address, file.name, file.content, comment=comment)
            return
        text = reply.text if reply.text.strip() else FILE_NOT_SHOWN
        limit = SECTION_LIMIT if reply.buttons else MESSAGE_LIMIT
        pieces = [escape(p) for p in split(text, limit - len(prefix))]
        if reply.sender == "bot":  # knowledge-base articles are Markdown: **bold** is *bold*
            pieces = [BOLD.sub(r"*\1*", p) for p in pieces]
        pieces[0] = prefix + pieces[0]
        parts: list[tuple[str, Blocks | None]] = [(p, None) for p in pieces]
        if reply.buttons:
            parts[-1] = (pieces[-1], quick_reply_blocks(pieces[-1], reply.buttons))
        await self.out.post_all(address, parts)


def quick_reply_blocks(text: str, buttons: tuple[Button, ...]) -> Blocks:
    elements = [
        {"type": "button", "action_id": f"quick_reply:{i}", "value": b.payload[:2000],
         "text": {"type": "plain_text", "text": b.label[:75] or "?", "emoji": True}}
        for i, b in enumerate(buttons[:25])
    ]  # fmt: skip
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": elements},
    ]


def register(
    bolt: AsyncApp, engine: Engine, directory: Directory, out: SlackOut, budget: Budget
) -> None:
    """Listen to direct messages and quick-reply taps."""

    async def in_dm(event: dict[str, Any]) -> bool:
        return translate.is_dm(event)

    async def on_direct_message(
        event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest
    ) -> BoltResponse | None:
        what = f"event {body.get('event_id')}"
        parts = translate.person_message(event)
        if isinstance(parts, translate.Ignored):
            loggers.channels.info("slack: %s ignored: %s", what, parts.reason)
            return None

        async def work() -> None:
            name = await _name(directory, parts[1], event.get("user_profile"))
            message = translate.customer_message(event, name)
            if isinstance(message, translate.Ignored):
                loggers.channels.info("slack: %s ignored: %s", what, message.reason)
                return
            await engine.handle_message(message)

        async def give_up() -> None:
            await _apologise(out, parts[0])

        retries = retry_number(request.headers)
        return await budget.run(work(), what=what, give_up=give_up, retry_num=retries)

    async def on_quick_reply(ack: AsyncAck, body: dict[str, Any]) -> BoltResponse | None:
        await ack()
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")

        async def work() -> None:
            name = await _name(directory, str(user), None)
            message = translate.choice_message(body, name)
            if isinstance(message, translate.Ignored):
                loggers.channels.info("slack: button tap ignored: %s", message.reason)
                return
            await engine.handle_message(message)

        async def give_up() -> None:
            await _apologise(out, str(channel))

        return await budget.run(work(), what="quick reply", give_up=give_up,
                                retried_by_slack=False)  # fmt: skip

    bolt.event("message", matchers=[in_dm])(on_direct_message)
    bolt.action(QUICK_REPLY)(on_quick_reply)


async def _name(directory: Directory, user: str, profile: Any) -> str | None:
    """The customer's name for greetings; without it the bot still answers."""
    try:
        return await directory.name(user, profile if isinstance(profile, dict) else None)
    except SlackApiError as exc:
        loggers.channels.warning("slack: users.info failed: %s", _code(exc))
        return None


async def _apologise(out: SlackOut, channel: str) -> None:
    if channel.startswith("D"):
        try:
            await out.post(channel, escape(SEND_AGAIN))
        except ChannelError as exc:  # the last word; there is nobody left to tell
            loggers.channels.error("slack: could not ask %s to send again: %s", channel, exc)


def _code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error")) if isinstance(data, dict) else "error"
