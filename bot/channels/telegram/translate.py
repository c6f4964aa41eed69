"""Telegram messages in, the engine's ``Message`` out; nothing here talks to the network.

Anything a person can send that the bot cannot read as text (photos, documents, voice,
stickers, locations, games, stories, kinds newer than aiogram ...) becomes an
``Attachment``: the engine keeps it with the
conversation and tells the customer it reads text only, and while an agent owns the
chat it is relayed to the case's topic with copyMessage (which needs the original chat
and message id, carried as the message id and in the desk notice's ``source``).
"""

from __future__ import annotations

from aiogram import types

from bot.messages import Attachment, Message, clean_name

CHANNEL = "telegram"
# Content that is relayed as a file-like attachment (copyMessage can copy all of them).
FILE_KINDS = ("document", "voice", "video", "audio", "animation", "video_note", "sticker")
OTHER_KINDS = ("location", "contact", "venue", "poll", "dice")
# Content aiogram has no field of its own for above, or knows nothing of ("unknown": a
# kind newer than aiogram): kept like the others, under its content type, so that it is
# answered once however often Telegram delivers it, and relayed (or, when Telegram will
# not copy it, announced) to an agent who owns the chat.
OPAQUE = frozenset(
    {"story", "game", "paid_media", "live_photo", "checklist", "invoice", "giveaway", "unknown"}
)


def attachment_of(message: types.Message) -> Attachment | None:
    """The non-text part of a message, if any (``ref`` is Telegram's file_id)."""
    if message.photo:
        return Attachment("photo", message.photo[-1].file_id)
    for kind in FILE_KINDS:
        media = getattr(message, kind, None)
        if media is not None:
            return Attachment(kind, str(media.file_id), getattr(media, "file_name", None))
    for kind in OTHER_KINDS:
        if getattr(message, kind, None) is not None:
            return Attachment(kind, f"{message.chat.id}/{message.message_id}")
    if message.content_type in OPAQUE:
        return Attachment(str(message.content_type), f"{message.chat.id}/{message.message_id}")
    return None


def customer_message(message: types.Message) -> Message | None:
    """The customer's message for the engine; None if there is nothing a person said."""
    user = message.from_user
    if user is None or user.is_bot:
        return None
    text = message.text or message.caption or ""
    attachment = attachment_of(message)
    if not text and attachment is None:
        return None
    return Message(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(user.id),
        text=text,
        message_id=str(message.message_id),
        user_name=display_name(user),
        attachments=(attachment,) if attachment else (),
    )


def display_name(user: types.User) -> str:
    """The user's first name, safe to show: no control or bidi characters, one line."""
    return clean_name(user.first_name) or f"User {user.id}"


def message_ref(dedupe_key: str | None) -> tuple[str, int] | None:
    """(chat_id, message_id) back from the engine's dedupe key ``telegram:<chat>:<id>``."""
    if not dedupe_key:
        return None
    channel, _, rest = dedupe_key.partition(":")
    chat, _, message_id = rest.rpartition(":")
    if channel != CHANNEL or not chat or not message_id.isdigit():
        return None
    return chat, int(message_id)
