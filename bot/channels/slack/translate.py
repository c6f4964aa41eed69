"""Slack events and button taps as the bot's ``Message``, or the reason they are ignored.

Only what a person wrote in a direct message becomes a ``Message``; everything else
(edits, deletions, joins, other bots, our own posts) is ignored with a reason the caller
logs. Payloads are read defensively: a malformed event is a reason, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels.slack.escape import to_plain
from bot.messages import Attachment, Message

CHANNEL = "slack"
# Subtypes that carry something a person wrote; anything else is not a new message.
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}


@dataclass(frozen=True)
class Ignored:
    reason: str


def is_dm(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def from_bot(event: dict[str, Any]) -> bool:
    """Another bot (or ours): never answered, so two bots cannot talk to each other forever."""
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def person_message(event: dict[str, Any]) -> tuple[str, str, str, str] | Ignored:
    """(channel, user, ts, plain text) of a message a person wrote, or why it is ignored."""
    if from_bot(event):
        return Ignored("a bot's message")
    subtype = event.get("subtype")
    if subtype not in PERSON_SUBTYPES:
        return Ignored(f"message subtype {subtype}")
    channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
    if not (isinstance(channel, str) and isinstance(user, str) and isinstance(ts, str)):
        return Ignored("message without channel, user or ts")
    text = event.get("text")
    return channel, user, ts, to_plain(text) if isinstance(text, str) else ""


def customer_message(event: dict[str, Any], user_name: str | None) -> Message | Ignored:
    """A direct message to the app; its ``ts`` is the id that recognises a redelivery."""
    parts = person_message(event)
    if isinstance(parts, Ignored):
        return parts
    channel, user, ts, text = parts
    files = attachments(event)
    if not text.strip() and not files:
        return Ignored("message with no text and no file")
    return Message(CHANNEL, channel, user, text, message_id=ts, user_name=user_name,
                   attachments=files)  # fmt: skip


def choice_message(body: dict[str, Any], user_name: str | None) -> Message | Ignored:
    """A quick-reply button tapped in a direct message. Its id is the message that held
    the buttons: one answer per set of buttons, however often it is tapped."""
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id")
    user = (body.get("user") or {}).get("id")
    message_ts = (body.get("container") or {}).get("message_ts")
    payload = action.get("value")
    label = (action.get("text") or {}).get("text") or payload
    if not (
        isinstance(channel, str) and isinstance(user, str) and isinstance(message_ts, str)
        and isinstance(payload, str)
    ):  # fmt: skip
        return Ignored("button tap without channel, user, message or value")
    if not channel.startswith("D"):
        return Ignored("quick reply outside a direct message")
    return Message(CHANNEL, channel, user, str(label), message_id=f"choice:{message_ts}",
                   user_name=user_name, payload=payload)  # fmt: skip


def attachments(event: dict[str, Any]) -> tuple[Attachment, ...]:
    """Files shared with a message, by Slack file id (the bot reads text only)."""
    found = []
    for file in event.get("files") or []:
        if not isinstance(file, dict) or not isinstance(file.get("id"), str):
            continue
        mimetype = str(file.get("mimetype") or "")
        kind = mimetype.split("/", 1)[0] if "/" in mimetype else "document"
        kind = kind if kind in {"image", "video", "audio"} else "document"
        name = file.get("name") or file.get("title")
        found.append(Attachment(kind, file["id"], str(name) if name else None))
    return tuple(found)
